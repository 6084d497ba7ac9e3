"""model retrain attempts: every retrain of the classifier on operator corrections and its verdict

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_retrains',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('started_at', storage.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', storage.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('base_version', sa.String(length=64), nullable=False),
    sa.Column('serving_version', sa.String(length=64), nullable=False),
    sa.Column('planned_version', sa.String(length=64), nullable=True),
    sa.Column('candidate_version', sa.String(length=64), nullable=True),
    sa.Column('corrections', sa.Integer(), nullable=False),
    sa.Column('heldout_f1', sa.Float(), nullable=True),
    sa.Column('dev_f1', sa.Float(), nullable=True),
    sa.Column('serving_heldout_f1', sa.Float(), nullable=True),
    sa.Column('serving_dev_f1', sa.Float(), nullable=True),
    sa.Column('heldout_examples', sa.Integer(), nullable=True),
    sa.Column('dev_examples', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_retrains'))
    )
    with op.batch_alter_table('model_retrains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_retrains_candidate_version'), ['candidate_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_retrains_planned_version'), ['planned_version'], unique=False)
        batch_op.create_index('ix_model_retrains_outcome_id', ['outcome', 'id'], unique=False)
        batch_op.create_index(
            'uq_model_retrains_running',
            ['outcome'],
            unique=True,
            sqlite_where=sa.text("outcome = 'running'"),
            postgresql_where=sa.text("outcome = 'running'"),
        )


def downgrade() -> None:
    with op.batch_alter_table('model_retrains', schema=None) as batch_op:
        batch_op.drop_index('uq_model_retrains_running')
        batch_op.drop_index('ix_model_retrains_outcome_id')
        batch_op.drop_index(batch_op.f('ix_model_retrains_planned_version'))
        batch_op.drop_index(batch_op.f('ix_model_retrains_candidate_version'))

    op.drop_table('model_retrains')
