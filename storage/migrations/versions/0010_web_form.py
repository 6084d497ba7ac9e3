"""web form: phone_confirmations (a phone given on the citizen web form, until its one-time code is typed)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('phone_confirmations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('sent_at', storage.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', storage.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_phone_confirmations_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_phone_confirmations_token_hash'))
    )
    with op.batch_alter_table('phone_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_confirmations_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_confirmations_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_phone_confirmations_phone_sent_at', ['phone', 'sent_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('phone_confirmations', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_confirmations_phone_sent_at')
        batch_op.drop_index(batch_op.f('ix_phone_confirmations_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_phone_confirmations_created_at'))

    op.drop_table('phone_confirmations')
