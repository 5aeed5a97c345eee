"""What the server spends its time on under load: py-spy samples it from outside (it is not slowed by
instrumentation), and each sample is put down to the innermost library or module of ours it was in."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Profile", "categorise", "record"]

# Checked in order against each frame's file, innermost frame first: the first that matches takes the sample.
CATEGORIES = [
    ("store/crypto.py", "encryption (store.crypto, cryptography)"),
    ("cryptography/", "encryption (store.crypto, cryptography)"),
    ("sqlalchemy/", "SQLAlchemy (ORM, Core, async glue)"),
    ("aiosqlite/", "aiosqlite (its thread and the hops to it)"),
    ("asyncpg/", "asyncpg"),
    ("sqlite3/", "sqlite3"),
    ("transitions/", "transitions (state machines)"),
    ("jinja2/", "Jinja2 templates"),
    ("twilio/", "twilio (signature check, TwiML)"),
    ("logging/", "logging"),
    ("pydantic", "pydantic"),
    ("starlette/", "Starlette/FastAPI (routing, forms, middleware)"),
    ("fastapi/", "Starlette/FastAPI (routing, forms, middleware)"),
    ("multipart/", "Starlette/FastAPI (routing, forms, middleware)"),
    ("uvicorn/", "uvicorn + h11 (HTTP)"),
    ("h11/", "uvicorn + h11 (HTTP)"),
    ("phonenumbers/", "phonenumbers"),
    ("jellyfish", "jellyfish (same-person names)"),
    ("(flows/", "flows (the dialog, pure)"),
    ("/flows/", "flows (the dialog, pure)"),
    ("(store/", "store (our queries and models)"),
    ("/store/", "store (our queries and models)"),
    ("(bot/", "bot (our handlers)"),
    ("/bot/", "bot (our handlers)"),
    ("asyncio/", "asyncio event loop and thread hand-offs"),
    ("concurrent/futures", "asyncio event loop and thread hand-offs"),
    ("threading.py", "asyncio event loop and thread hand-offs"),
    ("selectors.py", "asyncio event loop and thread hand-offs"),
]


# Innermost frames that are waits, not work: py-spy's own idle detection misses them on a busy machine
# (a thread blocked in a queue still shows as running). Left out of the shares.
IDLE = ("Condition.wait (threading.py", "select (selectors.py", "(aiosqlite/core.py:59)", "Queue.get (queue.py",
        "_worker (concurrent/futures/thread.py", "Event.wait (threading.py")


# aiosqlite's own thread runs each statement in sqlite3 (C, shown as the Python frame that called it).
SQLITE_THREAD = "SQLite statements (aiosqlite's worker thread)"


@dataclass(frozen=True)
class Profile:
    samples: int
    idle: int
    own: list[tuple[str, float]]  # share of samples whose innermost known frame is in the category
    within: list[tuple[str, float]]  # share of samples with any frame in the category


def record(pid: int, seconds: int, out: Path) -> None:
    subprocess.run([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d", str(seconds),
                    "--rate", "200", "--format", "raw", "-o", str(out)], check=True, capture_output=True)


def _category(frame: str) -> str | None:
    for marker, name in CATEGORIES:
        if marker in frame:
            return name
    return None


def categorise(raw: Path) -> Profile:
    own: Counter[str] = Counter()
    within: Counter[str] = Counter()
    total = 0
    idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in IDLE):
            idle += count
            continue
        total += count
        names = [_category(frame) for frame in frames]
        innermost = next((name for name in reversed(names) if name), "other (interpreter, stdlib)")
        if any("_connection_worker_thread" in frame for frame in frames):
            innermost = names[-1] = SQLITE_THREAD
        own[innermost] += count
        for name in set(filter(None, names)):
            within[name] += count
    if not total:
        return Profile(0, idle, [], [])
    return Profile(total, idle, [(name, n / total) for name, n in own.most_common()],
                   [(name, n / total) for name, n in within.most_common()])
