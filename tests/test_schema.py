"""The migrations build exactly the schema the models declare: every column, constraint and index."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.db import make_engine
from store.migrate import alembic_config
from store.models import Base


def _differences(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_the_migrated_database_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


def test_dropping_awaiting_info_keeps_every_referrals_history_on_sqlite(tmp_path: Path) -> None:
    # A batch rebuild of `referrals` would drop the table, and SQLite's DROP TABLE cascades to its children.
    path = tmp_path / "data.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "0005")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO referrals (id, reference, status, channel, borough, age, under_18, urgency, "
                   "safeguarding_flag, referrer_hash, details, created_at, updated_at, awaiting_info, reminders_off) "
                   "VALUES (1, 'LGX-AAAAA', 'more_info_requested', 'sms', 'Lambeth', 17, 1, 'soon', 0, 'h', x'00', "
                   "'2026-12-01', '2026-12-01', 1, 0)")
        db.execute("INSERT INTO referral_events (referral_id, at, actor, action, status_after) "
                   "VALUES (1, '2026-12-01', 'a@unit.example.org', 'request_info', 'more_info_requested')")
    command.upgrade(config, "0006")
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM referral_events").fetchone() == (1,)
        assert "awaiting_info" not in [row[1] for row in db.execute("PRAGMA table_info(referrals)")]
    command.downgrade(config, "0005")
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT awaiting_info FROM referrals").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM referral_events").fetchone() == (1,)
