"""Referrals no longer carry `awaiting_info`: the status (more_info_requested) says it, and nothing read it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


# recreate="never": altered in place (SQLite has DROP COLUMN since 3.35), never rebuilt. A batch rebuild
# drops the old referrals table, and with foreign keys on SQLite's DROP TABLE deletes its rows first,
# cascading to every referral's history, sessions and notices (https://www.sqlite.org/lang_droptable.html).


def upgrade() -> None:
    with op.batch_alter_table('referrals', schema=None, recreate="never") as batch_op:
        batch_op.drop_column('awaiting_info')


def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column('awaiting_info', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Filled from the status it mirrored, so a downgraded database reads as it did.
    op.execute("UPDATE referrals SET awaiting_info = (status = 'more_info_requested')")
