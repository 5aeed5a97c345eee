"""The inbound path run in this process, for what a load test cannot see: its statements (and their query
plans), and what a whole referral costs in texts and segments."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.load import referral_script
from bot.core import Inbound, handle
from bot.settings import Settings
from flows.channels import Channel
from flows.text import segment_count

__all__ = ["Cost", "inbound_statements", "plans_postgres", "plans_sqlite", "referral_cost"]

Statement = tuple[str, Any]


async def inbound_statements(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                             sender: str) -> list[Statement]:
    """Every statement two messages run (a new sender's first text, then an answer), in order."""
    seen: list[Statement] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for n, text in enumerate(referral_script(99_999, sender)[:2]):
            await handle(Inbound(Channel.SMS, sender, f"SMplan{n:028d}", text, datetime.now(UTC)), sessions, settings)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def _explainable(statement: str) -> bool:
    return statement.lstrip().split(" ", 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


def plans_sqlite(path: str, statements: list[Statement]) -> list[tuple[str, list[str]]]:
    out = []
    with sqlite3.connect(path) as connection:
        for statement, parameters in statements:
            if _explainable(statement):
                rows = connection.execute("EXPLAIN QUERY PLAN " + statement, tuple(parameters or ())).fetchall()
                out.append((statement, [str(row[-1]) for row in rows]))
    return out


async def plans_postgres(sessions: async_sessionmaker[AsyncSession],
                         statements: list[Statement]) -> list[tuple[str, list[str]]]:
    out = []
    async with sessions() as db:
        connection = await db.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        for statement, parameters in statements:
            if _explainable(statement):
                rows = await raw.fetch("EXPLAIN " + statement, *(parameters or ()))
                out.append((statement, [str(row[0]) for row in rows]))
    return out


class Cost:
    def __init__(self, texts: int, segments_received: int) -> None:
        self.texts = texts
        self.segments_received = segments_received


async def referral_cost(sessions: async_sessionmaker[AsyncSession], settings: Settings, sender: str) -> Cost:
    """One whole referral over SMS: the texts the referrer sends, the SMS segments the bot's answers take."""
    texts = referral_script(88_888, sender)
    segments = 0
    last = ""
    for n, text in enumerate(texts):
        handled = await handle(Inbound(Channel.SMS, sender, f"SMcost{n:028d}", text, datetime.now(UTC)),
                               sessions, settings)
        segments += sum(segment_count(reply.text) for reply in handled.replies)
        last = handled.replies[-1].text if handled.replies else ""
    if "Referral" not in last:
        raise RuntimeError("the cost referral did not end with a reference")
    return Cost(len(texts), segments)


def twiml_texts(payload: bytes) -> list[str]:
    return [m.text or "" for m in ET.fromstring(payload).iter("Message")]
