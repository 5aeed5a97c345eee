"""Backups of a SQLite database that restore: a consistent copy made by SQLite itself, checked before use.

A file copy of a database in WAL mode can miss what is still in the -wal file, or catch a page
half-written; SQLite's online backup API copies a consistent snapshot while the app keeps running.
PostgreSQL is backed up with its own tools (pg_dump, pg_restore): see `postgres_instructions`.

The data keys are not in a backup, and a backup is no use without them: keep them, separately.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from store import crypto
from store.db import create_private_file
from store.keys import TABLES
from store.migrate import alembic_config

__all__ = ["BackupError", "BackupInfo", "backup_sqlite", "check_backup", "postgres_instructions", "restore_sqlite"]

_MAGIC = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """A backup could not be made, checked or restored; the message says why and what to do."""


@dataclass(frozen=True)
class BackupInfo:
    """What a checked backup holds."""

    revision: str
    referrals: int


def _expected_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


@contextlib.contextmanager
def _open(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    if read_only:
        connection = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, isolation_level=None)
    else:
        connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA busy_timeout=10000")
        yield connection
    finally:
        connection.close()


def _integrity(connection: sqlite3.Connection, name: Path) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{name} is damaged (integrity_check: {'; '.join(problems[:3])})")


def _private_partial(target: Path) -> Path:
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return partial


def backup_sqlite(database: Path, target: Path, *, force: bool = False) -> None:
    """Write a consistent, checked copy of `database` to `target` (mode 600), in one self-contained file."""
    if not database.is_file():
        raise BackupError(f"{database} does not exist: check DATABASE_URL")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: choose another file name, or pass --force to replace it")
    if target.resolve() == database.resolve():
        raise BackupError(f"{target} is the database itself: choose another file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _private_partial(target)
    try:
        with _open(database) as source, _open(partial) as copy:
            # One step: the whole database under one read transaction, so one consistent moment.
            source.backup(copy)
            # The copy needs no -wal file next to it; the app puts WAL back on when it opens it.
            copy.execute("PRAGMA journal_mode=DELETE")
            _integrity(copy, target)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def check_backup(backup: Path) -> BackupInfo:
    """Check a backup is whole, at this version's schema, and readable with the configured data keys."""
    if not backup.is_file():
        raise BackupError(f"{backup} does not exist")
    with backup.open("rb") as handle:
        if handle.read(len(_MAGIC)) != _MAGIC:
            raise BackupError(f"{backup} is not a SQLite database")
    expected = _expected_revision()
    try:
        return _check(backup, expected)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup} is damaged ({exc})") from None


def _check(backup: Path, expected: str) -> BackupInfo:
    with _open(backup, read_only=True) as connection:
        _integrity(connection, backup)
        try:
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            revision = None
        if revision is None:
            raise BackupError(f"{backup} is not a referral-bot database (it has no schema version)")
        if revision[0] != expected:
            raise BackupError(
                f"{backup} is at schema revision {revision[0]}, this version of referral-bot needs {expected}: "
                f"migrate a copy first (DATABASE_URL=sqlite+aiosqlite:///COPY referral-bot migrate), "
                f"then restore the copy")
        _check_keys(connection, backup)
        referrals = connection.execute("SELECT count(*) FROM referrals").fetchone()[0]
    return BackupInfo(revision[0], referrals)


def _check_keys(connection: sqlite3.Connection, backup: Path) -> None:
    """Every value in the backup must open with a configured key, or restoring it would lose the data."""
    configured = set(crypto.configured_key_ids())
    for plan in TABLES:
        for column, column_type in plan.encrypted:
            heads = connection.execute(f"SELECT DISTINCT substr({column}, 1, 5) FROM {plan.name} "
                                       f"WHERE {column} IS NOT NULL AND substr({column}, 1, 1) = x'02'")
            missing = {crypto.key_id_of(bytes(head)) for (head,) in heads} - configured
            if missing:
                ids = ", ".join(sorted(key for key in missing if key))
                raise BackupError(f"{backup} holds data written under key {ids}, which is not in DATA_KEY: "
                                  f"put back the keys in use when the backup was made")
            legacy = connection.execute(f"SELECT {column} FROM {plan.name} "
                                        f"WHERE substr({column}, 1, 1) = x'01' LIMIT 1").fetchone()
            if legacy is not None:
                try:
                    crypto.decrypt(bytes(legacy[0]), column_type.purpose)
                except crypto.DecryptionError:
                    raise BackupError(f"{backup} holds data none of the keys in DATA_KEY can read: "
                                      f"put back the keys in use when the backup was made") from None


def _holds_data(database: Path) -> bool:
    if not database.is_file() or database.stat().st_size == 0:
        return False
    with _open(database) as connection:
        tables: int = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    return tables > 0


def restore_sqlite(backup: Path, database: Path, now: datetime, *,
                   force: bool = False) -> tuple[BackupInfo, Path | None]:
    """Check `backup`, then make `database` hold exactly what it holds.

    A database that already holds tables is replaced only with `force`, and then first saved next to
    itself (the path returned), so a restore over the wrong database can be undone.
    """
    info = check_backup(backup)
    saved = None
    if _holds_data(database):
        if not force:
            raise BackupError(f"{database} already holds a database: pass --force to replace it "
                              f"(it is saved next to itself first)")
        saved = database.with_name(f"{database.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
        backup_sqlite(database, saved)
    create_private_file(database)
    with _open(backup, read_only=True) as source, _open(database) as target:
        # Through SQLite, with its locks: a process that has the database open sees the old or the
        # new contents, never a mix (stop the app first all the same: see the README).
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
        _integrity(target, database)
    return info, saved


def postgres_instructions(url: str, file: Path, *, restore: bool) -> str:
    """What to run instead for PostgreSQL, for the operator to read (the password is left out)."""
    given = make_url(url)
    # libpq's own form of the address, without the password (pg_dump asks for it, or reads ~/.pgpass).
    address = URL.create("postgresql", username=given.username, host=given.host, port=given.port,
                         database=given.database, query=given.query).render_as_string(hide_password=False)
    if restore:
        return (f"DATABASE_URL is PostgreSQL: restore with pg_restore, e.g. "
                f"pg_restore --clean --if-exists --no-owner --dbname '{address}' {file} "
                f"(see the README; DATA_KEY must hold the keys in use when the dump was made)")
    return (f"DATABASE_URL is PostgreSQL: back it up with pg_dump, e.g. "
            f"pg_dump --format=custom --file {file} '{address}' "
            f"(see the README; keep DATA_KEY too, separately: the dump is no use without it)")
