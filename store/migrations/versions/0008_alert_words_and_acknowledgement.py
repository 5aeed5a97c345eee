"""Safeguarding alerts keep the words that raised them and the bot's answer (encrypted), and who acknowledged them.

Existing alerts get a row uid (as 0007 gave the other tables); their words were never kept, so they
stay empty.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLE = 'safeguarding_alerts'
NEW_COLUMNS = ('text', 'answer', 'acknowledged_by', 'acknowledged_at', 'ack_note')


def upgrade() -> None:
    connection = op.get_bind()
    # Added in place, never by a batch rebuild: see 0006 and 0007 for why a rebuild is unsafe on SQLite.
    op.add_column(TABLE, sa.Column('row_uid', sa.String(length=32), nullable=False, server_default=''))
    table = sa.table(TABLE, sa.column('id', sa.Integer), sa.column('row_uid', sa.String))
    ids = [row.id for row in connection.execute(sa.select(table.c.id))]
    if ids:
        update = sa.update(table).where(table.c.id == sa.bindparam('row_id')).values(row_uid=sa.bindparam('uid'))
        connection.execute(update, [{'row_id': i, 'uid': secrets.token_hex(16)} for i in ids])
    if connection.dialect.name == 'postgresql':
        op.alter_column(TABLE, 'row_uid', server_default=None)
    op.add_column(TABLE, sa.Column('text', sa.LargeBinary(), nullable=True))
    op.add_column(TABLE, sa.Column('answer', sa.LargeBinary(), nullable=True))
    op.add_column(TABLE, sa.Column('acknowledged_by', sa.String(length=254), nullable=True))
    op.add_column(TABLE, sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column(TABLE, sa.Column('ack_note', sa.LargeBinary(), nullable=True))
    op.create_index('ix_safeguarding_alerts_acknowledged_at', TABLE, ['acknowledged_at'], unique=False)
    op.create_index('ix_safeguarding_alerts_reference', TABLE, ['reference'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_safeguarding_alerts_reference', table_name=TABLE)
    op.drop_index('ix_safeguarding_alerts_acknowledged_at', table_name=TABLE)
    for name in (*NEW_COLUMNS, 'row_uid'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE {TABLE} DROP COLUMN {name}')
        else:
            op.drop_column(TABLE, name)
