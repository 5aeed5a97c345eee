"""The queue marks a referral whose referrer answered the unit's question until a unit member opens it,
and staff are told on their next page when someone took over their referral.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place, never by a batch rebuild: see 0006 and 0007 for why a rebuild is unsafe on SQLite.
    op.add_column('referrals', sa.Column('new_info_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('staff_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_staff_notices_user_id', 'staff_notices', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_staff_notices_user_id', table_name='staff_notices')
    op.drop_table('staff_notices')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE referrals DROP COLUMN new_info_at')
    else:
        op.drop_column('referrals', 'new_info_at')
