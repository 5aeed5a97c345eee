"""Each row with encrypted columns gets a random uid its ciphertexts are bound to; key rotation progress.

Existing rows get a uid here. Their values, written before this, stay readable as they are (bound
to their column only) until `referral-bot rotate-key` writes them again bound to their row too.

Downgrading drops the uids, and with them the only way to read values written since: downgrade only
a database restored from a backup taken before this migration, or one with no personal data yet.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TABLES = ('conversations', 'inbound_messages', 'referrals', 'referral_events', 'contacts', 'outbound_messages',
          'appointments', 'places', 'caseworker_notices')
BATCH = 500


def upgrade() -> None:
    connection = op.get_bind()
    for name in TABLES:
        # NOT NULL with a default, so SQLite adds it in place: rebuilding these tables with foreign
        # keys on would cascade the drop of the old copy into the rows that point at it.
        op.add_column(name, sa.Column('row_uid', sa.String(length=32), nullable=False, server_default=''))
        table = sa.table(name, sa.column('id', sa.Integer), sa.column('row_uid', sa.String))
        ids = [row.id for row in connection.execute(sa.select(table.c.id).order_by(table.c.id))]
        update = (sa.update(table).where(table.c.id == sa.bindparam('row_id'))
                  .values(row_uid=sa.bindparam('uid')))
        for start in range(0, len(ids), BATCH):
            connection.execute(update, [{'row_id': i, 'uid': secrets.token_hex(16)} for i in ids[start:start + BATCH]])
        if connection.dialect.name == 'postgresql':
            op.alter_column(name, 'row_uid', server_default=None)
    op.create_table(
        'key_rotation',
        sa.Column('table_name', sa.String(length=64), nullable=False),
        sa.Column('key_id', sa.String(length=8), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.Column('done', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('table_name'),
    )


def downgrade() -> None:
    op.drop_table('key_rotation')
    for name in TABLES:
        if op.get_bind().dialect.name == 'sqlite':
            # In place (SQLite 3.35+), for the same reason as above.
            op.execute(f'ALTER TABLE {name} DROP COLUMN row_uid')
        else:
            op.drop_column(name, 'row_uid')
