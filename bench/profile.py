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
    ("/flows/", "flows (the dialog, pure)"),
    ("/store/", "store (our queries and models)"),
    ("/bot/", "bot (our handlers)"),
    ("asyncio/", "asyncio event loop and thread hand-offs"),
    ("concurrent/futures", "asyncio event loop and thread hand-offs"),
    ("threading.py", "asyncio event loop and thread hand-offs"),
    ("selectors.py", "asyncio event loop and thread hand-offs"),
]


@dataclass(frozen=True)
class Profile:
    samples: int
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
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        names = [_category(frame) for frame in frames]
        innermost = next((name for name in reversed(names) if name), "other (interpreter, stdlib)")
        own[innermost] += count
        for name in set(filter(None, names)):
            within[name] += count
    if not total:
        return Profile(0, [], [])
    return Profile(total, [(name, n / total) for name, n in own.most_common()],
                   [(name, n / total) for name, n in within.most_common()])
