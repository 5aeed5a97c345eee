"""A referrer's own details, kept at their choice for their next referral from the same sender.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'remembered_referrers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('sender_hash', sa.String(length=64), nullable=False),
        sa.Column('sender', sa.LargeBinary(), nullable=False),
        sa.Column('details', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('row_uid', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'sender_hash', name='uq_remembered_referrers_sender'),
    )
    op.create_index('ix_remembered_referrers_used_at', 'remembered_referrers', ['used_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_remembered_referrers_used_at', table_name='remembered_referrers')
    op.drop_table('remembered_referrers')
