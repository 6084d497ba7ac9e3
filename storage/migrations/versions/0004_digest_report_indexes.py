"""indexes for the digest and reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_tickets_resolved_at', ['resolved_at'], unique=False)
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_kind_at', ['kind', 'at'], unique=False)
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index('ix_surveys_answered_at', ['answered_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_surveys_answered_at')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_events_kind_at')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resolved_at')
        batch_op.drop_index('ix_tickets_status_due_at')
