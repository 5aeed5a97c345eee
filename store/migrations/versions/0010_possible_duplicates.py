"""Possible referrals of the same young person: a keyed index of date of birth and name, and the pairs found.

Referrals from before this have no `yp_name_hash` yet, and it needs the data key, which a migration
does not have: the referrals table's key-rotation mark is cleared, so the next `referral-bot rotate-key`
(with the current key alone is enough) goes through every referral again and computes it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place, never by a batch rebuild: see 0006 for why rebuilding `referrals` is unsafe on SQLite.
    op.add_column('referrals', sa.Column('yp_name_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_referrals_yp_name_hash', 'referrals', ['yp_name_hash'], unique=False)
    op.create_table(
        'possible_duplicates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('same_as_id', sa.Integer(), nullable=False),
        sa.Column('by_name', sa.Boolean(), nullable=False),
        sa.Column('by_mobile', sa.Boolean(), nullable=False),
        sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('decided_by', sa.String(length=254), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['same_as_id'], ['referrals.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('referral_id', 'same_as_id', name='uq_possible_duplicates_pair'),
    )
    op.create_index('ix_possible_duplicates_same_as_id', 'possible_duplicates', ['same_as_id'], unique=False)
    op.execute("DELETE FROM key_rotation WHERE table_name = 'referrals'")


def downgrade() -> None:
    op.drop_index('ix_possible_duplicates_same_as_id', table_name='possible_duplicates')
    op.drop_table('possible_duplicates')
    op.drop_index('ix_referrals_yp_name_hash', table_name='referrals')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE referrals DROP COLUMN yp_name_hash')
    else:
        op.drop_column('referrals', 'yp_name_hash')
