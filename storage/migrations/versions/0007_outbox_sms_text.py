"""outbox: the SMS wording of a chat reply, for the blocked-bot fallback to SMS

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
# Issue 15 was worked on in parallel with 0008 (login devices), which also revises 0006. Until the
# lead orders them, this one follows 0008 so the tree has one head; the two touch different tables,
# so either order works (0006 → 0007 → 0008 needs `down_revision = '0006'` here and '0007' there).
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows queued before this have no SMS wording: the dispatcher sends their chat text on one line.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("sms_text")
