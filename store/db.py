"""Engines and sessions, tuned per database: one writer connection on SQLite, a pool on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Result, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

__all__ = ["create_private_file", "is_sqlite", "make_engine", "make_sessionmaker", "rows_affected", "sqlite_path"]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **overrides: Any) -> AsyncEngine:
    """An engine for the URL; on SQLite, WAL and a write lock taken at BEGIN."""
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            create_private_file(path)
        # More connections don't add SQLite throughput and made tail latency far worse
        # (see the project's measurements); one connection serialises writers cleanly.
        options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
        options.update(overrides)
        engine = create_async_engine(url, **options)
        _tune_sqlite(engine)
        return engine
    options = {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True, "pool_timeout": 30}
    options.update(overrides)
    return create_async_engine(url, **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sqlite_path(url: str) -> Path | None:
    """The database file a SQLite URL names (None for an in-memory database)."""
    path = url.split(":///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def create_private_file(path: Path) -> None:
    """Create the database file (and its folder) readable by this user only, unless it exists.

    SQLite gives its -wal and -shm files the database file's permissions, so they are private too.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (so BEGIN IMMEDIATE works).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=10000",
            # Deleted personal data is overwritten, not left in free pages of the file.
            "PRAGMA secure_delete=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a read that later upgrades to a write can deadlock
        # against another process and fail with "database is locked".
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def rows_affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed.

    At run time a DML statement's result is a CursorResult, which has `rowcount`; the async
    session's `execute` is typed to return the plain Result, which does not.
    """
    return cast("CursorResult[Any]", result).rowcount or 0
