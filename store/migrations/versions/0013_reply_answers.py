"""Our answer to each reply a young person sends is kept beside it, for the caseworker's timeline.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place, never by a batch rebuild: see 0006 and 0007 for why a rebuild is unsafe on SQLite.
    op.add_column('caseworker_notices', sa.Column('answer', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE caseworker_notices DROP COLUMN answer')
    else:
        op.drop_column('caseworker_notices', 'answer')
