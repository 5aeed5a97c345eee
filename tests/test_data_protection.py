"""Personal data is encrypted at rest and kept out of the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support import LEAK_FORMS, PERSONAL, SCREENED_OUT, WHOLE_REFERRAL, chat

from bot.settings import Settings
from store import crypto
from store.models import Base


def _leaks(haystack: bytes) -> list[str]:
    lowered = haystack.lower()
    return [form for form in LEAK_FORMS if form.lower().encode() in lowered]


async def _raw_database(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> bytes:
    """Every byte the database holds for our tables, as the database itself stores them."""
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.split(":///", 1)[1])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    chunks = []
    async with sessions() as db:
        for table in Base.metadata.sorted_tables:
            rows = await db.execute(text(f"SELECT t::text FROM {table.name} t"))
            chunks += [row[0].encode() for row in rows]
    return b"\n".join(chunks)


async def test_the_raw_database_holds_no_name_number_or_date_of_birth(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    replies = await chat(client, "enc", WHOLE_REFERRAL)
    assert "queued" in replies[-1][0]
    raw = await _raw_database(settings, sessions)
    assert len(raw) > 1000
    assert _leaks(raw) == []
    # The check itself can see plain text: the borough is stored in the clear for the queue.
    assert b"Lambeth" in raw


async def test_a_screened_out_run_leaves_no_personal_data_in_the_database(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(client, "out", SCREENED_OUT)
    raw = await _raw_database(settings, sessions)
    assert b"2015" not in raw and b"03/03" not in raw
    async with sessions() as db:
        reasons = (await db.execute(text("SELECT reason FROM screen_outs"))).scalars().all()
        bodies = (await db.execute(text("SELECT count(*) FROM inbound_messages WHERE body IS NOT NULL"))).scalar()
    assert reasons == ["too_young"]
    assert bodies == 0


async def test_logs_of_a_whole_referral_carry_no_personal_data(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="referral_bot")
    replies = await chat(client, "logs", [*WHOLE_REFERRAL[:3], "he's being stabbed right now", *WHOLE_REFERRAL[3:]])
    assert "queued" in replies[-1][0]
    logged = caplog.text
    assert "referral queued reference=" in logged  # the log is being captured at all
    assert "safeguarding alert" in logged
    assert _leaks(logged.encode()) == []
    assert "stabbed" not in logged


def test_encrypted_values_are_bound_to_their_column() -> None:
    crypto.configure(bytes(32))
    sealed = crypto.encrypt(b"Jaylen", "referrals.details")
    assert crypto.decrypt(sealed, "referrals.details") == b"Jaylen"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, "conversations.draft")


def test_a_tampered_value_is_refused() -> None:
    crypto.configure(bytes(32))
    sealed = bytearray(crypto.encrypt(b"Jaylen", "x"))
    sealed[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(bytes(sealed), "x")


def test_another_key_cannot_read_the_data() -> None:
    crypto.configure(bytes(32))
    sealed = crypto.encrypt(PERSONAL["yp_first_name"].encode(), "x")
    crypto.configure(bytes([1]) * 32)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, "x")


def test_the_same_value_encrypts_differently_each_time_but_hashes_the_same() -> None:
    crypto.configure(bytes(32))
    assert crypto.encrypt(b"+447700900123", "x") != crypto.encrypt(b"+447700900123", "x")
    assert crypto.keyed_hash("+447700900123", "p") == crypto.keyed_hash("+447700900123", "p")
    assert crypto.keyed_hash("+447700900123", "p") != crypto.keyed_hash("+447700900123", "q")
