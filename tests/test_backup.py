"""A backup of the SQLite database restores and serves the same referrals; the files are private."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from support import TEST_KEY, WHOLE_REFERRAL, chat, run_cli

from bot.runtime import runtime_of
from bot.settings import Settings, decode_data_key, load_settings
from bot.web import create_app
from flows.notices import status_unknown_text
from store import crypto
from store.backup import BackupError, backup_sqlite, check_backup, postgres_instructions, restore_sqlite
from store.db import make_engine, make_sessionmaker, sqlite_path
from store.migrate import upgrade_to_head
from store.referrals import get_referral, list_referrals

OTHER_KEY = "ZGlmZmVyZW50LWtleS1kaWZmZXJlbnQta2V5LTEyMzQ="


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _reference(replies: list[list[str]]) -> str:
    return replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]


async def _snapshot(url: str) -> list[tuple[str, str, dict[str, Any], str | None]]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            return [(r.reference, r.status, r.details, r.origin_address) for r in await list_referrals(db, None)]
    finally:
        await engine.dispose()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path}/var/live.db"
    upgrade_to_head(url)
    crypto.configure(decode_data_key(TEST_KEY))
    return load_settings(database_url=url, data_key=TEST_KEY)


async def _app(settings: Settings) -> Any:
    app = create_app(settings)
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_backup_taken_while_the_app_serves_restores_and_serves_the_same_referrals(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    app, http = await _app(sqlite_settings)
    async with app.router.lifespan_context(app), http:
        first = _reference(await chat(http, "one", WHOLE_REFERRAL))
        second = _reference(await chat(http, "two", WHOLE_REFERRAL))
        await chat(http, "draft", WHOLE_REFERRAL[:5])  # a draft part-way, in the -wal file as much as anywhere
        database = sqlite_path(sqlite_settings.database_url)
        assert database is not None and Path(f"{database}-wal").exists()
        backup_sqlite(database, tmp_path / "backups" / "monday.db")
        expected = await _snapshot(sqlite_settings.database_url)
        # Life goes on after the backup: this one is not in it.
        later = _reference(await chat(http, "later", WHOLE_REFERRAL))

    backup = tmp_path / "backups" / "monday.db"
    assert _mode(backup) == 0o600
    assert check_backup(backup).referrals == 2

    restored = tmp_path / "elsewhere" / "restored.db"
    info, saved = restore_sqlite(backup, restored, datetime.now(UTC))
    assert (info.referrals, saved) == (2, None)
    assert _mode(restored) == 0o600 and _mode(restored.parent) == 0o700
    url = f"sqlite+aiosqlite:///{restored}"
    assert await _snapshot(url) == expected

    # The real app on the restored database: the referrers' numbers are found, the draft carries on.
    app, http = await _app(sqlite_settings.model_copy(update={"database_url": url}))
    async with app.router.lifespan_context(app), http:
        for session, reference in (("one", first), ("two", second)):
            response = await http.post("/simulator/message", json={
                "session": session, "role": "referrer", "text": f"STATUS {reference}", "message_id": f"st-{session}"})
            assert response.json()["replies"] != [status_unknown_text(reference)]
        later_reply = await http.post("/simulator/message", json={
            "session": "later", "role": "referrer", "text": f"STATUS {later}", "message_id": "st-later"})
        assert later_reply.json()["replies"] == [status_unknown_text(later)]
        replies = await chat(http, "draft", WHOLE_REFERRAL[5:], prefix="after")
        assert "queued" in replies[-1][0]
        async with runtime_of(app).sessions() as db:
            assert (await get_referral(db, first)) is not None


async def test_restore_refuses_to_replace_a_database_unless_forced_and_then_keeps_the_old_one(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    app, http = await _app(sqlite_settings)
    async with app.router.lifespan_context(app), http:
        kept = _reference(await chat(http, "kept", WHOLE_REFERRAL))
    database = sqlite_path(sqlite_settings.database_url)
    assert database is not None
    backup_sqlite(database, tmp_path / "kept.db")
    with pytest.raises(BackupError, match="already exists"):
        backup_sqlite(database, tmp_path / "kept.db")

    app, http = await _app(sqlite_settings)
    async with app.router.lifespan_context(app), http:
        extra = _reference(await chat(http, "extra", WHOLE_REFERRAL))
    with pytest.raises(BackupError, match="already holds a database: pass --force"):
        restore_sqlite(tmp_path / "kept.db", database, datetime.now(UTC))
    assert [r[0] for r in await _snapshot(sqlite_settings.database_url)] == [extra, kept]

    _, saved = restore_sqlite(tmp_path / "kept.db", database, datetime(2026, 12, 14, 9, 30, tzinfo=UTC), force=True)
    assert saved == database.with_name("live.db.before-restore-20261214T093000Z")
    assert [r[0] for r in await _snapshot(sqlite_settings.database_url)] == [kept]
    assert [r[0] for r in await _snapshot(f"sqlite+aiosqlite:///{saved}")] == [extra, kept]


async def test_a_damaged_backup_an_older_schema_or_missing_keys_are_refused(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    app, http = await _app(sqlite_settings)
    async with app.router.lifespan_context(app), http:
        await chat(http, "one", WHOLE_REFERRAL)
    database = sqlite_path(sqlite_settings.database_url)
    assert database is not None
    good = tmp_path / "good.db"
    backup_sqlite(database, good)

    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database")
    with pytest.raises(BackupError, match="is not a SQLite database"):
        check_backup(not_sqlite)

    damaged = tmp_path / "damaged.db"
    data = bytearray(good.read_bytes())
    data[4096 * 3 : 4096 * 3 + 200] = os.urandom(200)  # a page of a table, overwritten
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"damaged|not a referral-bot database"):
        check_backup(damaged)

    older = tmp_path / "older.db"
    backup_sqlite(database, older)
    connection = sqlite3.connect(older)
    connection.execute("UPDATE alembic_version SET version_num = '0004'")
    connection.commit()
    connection.close()
    with pytest.raises(BackupError, match="revision 0004, this version of referral-bot needs"):
        check_backup(older)

    crypto.configure(decode_data_key(OTHER_KEY))
    with pytest.raises(BackupError, match="which is not in DATA_KEY"):
        check_backup(good)
    crypto.configure(decode_data_key(OTHER_KEY), decode_data_key(TEST_KEY))
    assert check_backup(good).referrals == 1


def test_the_database_and_its_folder_are_created_readable_by_this_user_only(tmp_path: Path) -> None:
    database = tmp_path / "var" / "referral-bot.db"
    url = f"sqlite+aiosqlite:///{database}"
    upgrade_to_head(url)

    async def write() -> None:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as db, db.begin():
                await db.execute(text("INSERT INTO screen_outs (reason, screened_on, channel) "
                                      "VALUES ('x', '2026-12-01', 'sms')"))
            assert _mode(database.parent) == 0o700
            for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                assert path.exists() and _mode(path) == 0o600, path
        finally:
            await engine.dispose()

    asyncio.run(write())


def _cli_env(database_url: str) -> dict[str, str]:
    names = {name.upper() for name in Settings.model_fields}
    return {**{k: v for k, v in os.environ.items() if k.upper() not in names},
            "DATABASE_URL": database_url, "DATA_KEY": TEST_KEY}


async def test_backup_and_restore_commands(sqlite_settings: Settings, tmp_path: Path) -> None:
    app, http = await _app(sqlite_settings)
    async with app.router.lifespan_context(app), http:
        await chat(http, "one", WHOLE_REFERRAL)
    env = _cli_env(sqlite_settings.database_url)
    made = await run_cli(env, "backup", str(tmp_path / "nightly.db"))
    assert made.returncode == 0, made.stderr
    assert "Keep DATA_KEY too" in made.stdout
    refused = await run_cli(env, "restore", str(tmp_path / "nightly.db"))
    assert refused.returncode == 1 and "pass --force" in refused.stderr
    forced = await run_cli(env, "restore", str(tmp_path / "nightly.db"), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "(1 referrals)" in forced.stdout and "The database it replaced is saved as" in forced.stdout


async def test_on_postgresql_the_commands_say_to_use_pg_dump_and_pg_restore() -> None:
    url = "postgresql+asyncpg://referralbot:s3cret@db.internal:5432/referralbot"
    said = postgres_instructions(url, Path("nightly.dump"), restore=False)
    assert "pg_dump --format=custom --file nightly.dump 'postgresql://referralbot@db.internal:5432/referralbot'" in said
    assert "s3cret" not in said and "DATA_KEY" in said
    said = postgres_instructions(url, Path("nightly.dump"), restore=True)
    assert "pg_restore" in said and "s3cret" not in said
    result = await run_cli(_cli_env(url), "backup", "nightly.dump")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "referral-bot: " + postgres_instructions(url, Path("nightly.dump"), restore=False)
