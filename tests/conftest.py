"""Fixtures: both databases, migrated and emptied per test, and the app with its lifespan running."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from browser_support import CHROMIUM, CHROMIUM_ARGS
from channels_support import LiveApp, channel_settings, serve_live
from playwright.async_api import Browser, async_playwright
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support import TEST_KEY, free_port

from bot.settings import Settings, decode_data_key, load_settings
from bot.web import create_app
from store import crypto, users
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade_to_head
from store.models import Base

SQLITE_ONLY = os.environ.get("REFERRAL_BOT_TEST_SQLITE_ONLY") == "1"


def pytest_configure(config: pytest.Config) -> None:
    # The suite must fail, not quietly skip, when PostgreSQL is missing.
    if not POSTGRES_URL and not SQLITE_ONLY:
        raise pytest.UsageError(
            "TEST_POSTGRES_URL is not set: run `make test` (it starts a throwaway PostgreSQL), "
            "or set REFERRAL_BOT_TEST_SQLITE_ONLY=1 for a quick SQLite-only run"
        )


def _worker_postgres_url() -> str:
    """This process's own PostgreSQL database.

    Under pytest-xdist each worker process empties and migrates its database around every test, so
    workers sharing one database would wipe each other's data: each gets `<name>_gw0`, `<name>_gw1`...
    in the same throwaway cluster (created on first use). A plain run uses the database as given.
    """
    url = os.environ.get("TEST_POSTGRES_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_postgres_url()


async def _create_worker_database(url: str) -> None:
    """Create the worker's database if this cluster doesn't have it yet (CREATE DATABASE can't run in a transaction)."""
    parsed = make_url(url)
    engine = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False), pool_size=1)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            found = await connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                            {"name": parsed.database})
            if not found:
                await connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await engine.dispose()


SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)
BACKENDS = ["sqlite"] if SQLITE_ONLY else ["sqlite", "postgresql"]
_migrated_postgres = False


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env or stray variables leak into a test; every test runs in its own folder."""
    for name in list(os.environ):
        if name.upper() in SETTING_NAMES:
            monkeypatch.delenv(name, raising=False)
    # Tests chat with the simulator far faster than any person (a whole referral is 32 messages);
    # the tests of the limit set their own.
    monkeypatch.setenv("SIMULATOR_RATE_PER_MINUTE", "100000")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Passwords hashed at argon2's lowest cost in the test process, as production's took up to a second each.

    Commands run as separate processes keep production's cost, which
    test_the_command_hashes_passwords_at_argon2s_recommended_cost checks.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "_hasher", cheap)
        patch.setattr(users, "_DUMMY_HASH", cheap.hash("not a real password, only for timing"))
        yield


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated to head once; each test gets a copy, far quicker than migrating again."""
    path = tmp_path_factory.mktemp("migrated") / "test.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    # Closing the last connection folds SQLite's write-ahead log into the file, so the file is the whole database.
    assert not path.with_name("test.db-wal").exists(), "the migrated database left a write-ahead log behind"
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    global _migrated_postgres
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if not _migrated_postgres:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            asyncio.run(_create_worker_database(POSTGRES_URL))
        asyncio.run(_reset_postgres(POSTGRES_URL, drop=True))
        upgrade_to_head(POSTGRES_URL)
        _migrated_postgres = True
    asyncio.run(_reset_postgres(POSTGRES_URL, drop=False))
    yield POSTGRES_URL


_postgres_emptying: list[str] = []  # the statements that empty the migrated schema, found once


async def _reset_postgres(url: str, *, drop: bool) -> None:
    """Drop everything (before migrating), or empty every table and start its ids at 1 again (before each test).

    Emptying is DELETE, not TRUNCATE: a test leaves a handful of rows, and TRUNCATE's cost is per table
    (new files for each table and index), several times DELETE's. All the statements go in one round trip.
    """
    engine = make_engine(url, pool_size=1)
    async with engine.begin() as connection:
        if drop:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        else:
            if not _postgres_emptying:
                sequences = (await connection.execute(text("SELECT sequence_name FROM information_schema.sequences"
                                                            " WHERE sequence_schema = 'public'"))).scalars()
                # Replica mode skips triggers: the audit log's refuse any DELETE (TRUNCATE fires no row triggers).
                _postgres_emptying.append("SET session_replication_role = replica")
                tables = reversed(Base.metadata.sorted_tables)  # rows that refer to others go first
                _postgres_emptying.extend(f"DELETE FROM {table.name}" for table in tables)
                _postgres_emptying.extend(f"ALTER SEQUENCE {name} RESTART" for name in sequences)
                _postgres_emptying.append("RESET session_replication_role")
            raw = await connection.get_raw_connection()
            # The driver's own execute: several statements in one message (no parameters, so no prepared statement).
            await raw.driver_connection.execute(";\n".join(_postgres_emptying))
    await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    crypto.configure(decode_data_key(TEST_KEY))
    return load_settings(database_url=database_url, data_key=TEST_KEY)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, lifespan and all, spoken to over ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
def env_for_cli(settings: Settings) -> dict[str, Any]:
    """Environment for running the real `referral-bot` command against the test database."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    env.update({"DATABASE_URL": settings.database_url, "DATA_KEY": TEST_KEY})
    return env


# --- channels ------------------------------------------------------------------------------------


@pytest.fixture
def fake_smtp() -> Iterator[Any]:
    from fakes.smtp_server import FakeSmtp

    with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[Any]:
    from fakes.twilio_api import FakeTwilio

    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_telegram() -> Iterator[Any]:
    from fakes.telegram_api import FakeTelegram

    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def live(database_url: str, fake_twilio: Any, fake_telegram: Any) -> AsyncIterator[LiveApp]:
    crypto.configure(decode_data_key(TEST_KEY))
    async with serve_live(channel_settings(database_url, fake_twilio, fake_telegram)) as app:
        yield app


# --- the browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def _chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, driven by Playwright: started once per test process, on first use.

    Starting Playwright's driver and a chromium cost each browser test a second or two. Tests and
    fixtures share one event loop per process (asyncio_default_*_loop_scope in pyproject.toml), which
    is what lets the browser outlive a test.
    """
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def browser(_chromium: Browser) -> AsyncIterator[Browser]:
    """The shared chromium; every page a test opens is in a context (cookies, storage) of its own, closed after it."""
    yield _chromium
    for context in _chromium.contexts:
        await context.close()


@pytest.fixture
async def site(database_url: str, fake_twilio: Any, fake_telegram: Any) -> AsyncIterator[LiveApp]:
    """The real app served on a loopback port, for the browser to reach."""
    crypto.configure(decode_data_key(TEST_KEY))
    port = free_port()
    # Served over plain http on loopback, so the public address is that too (and cookies aren't Secure).
    settings = channel_settings(database_url, fake_twilio, fake_telegram, public_base_url=f"http://127.0.0.1:{port}",
                                outbox_poll_seconds=0.2)
    async with serve_live(settings, port=port) as live:
        yield live
