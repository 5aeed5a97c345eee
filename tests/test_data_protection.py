"""Personal data is encrypted at rest and kept out of the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from keys_support import legacy_blob
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


# --- keys with ids, several keys, values bound to their row ---------------------------------------


OLD, NEW = bytes(range(32)), bytes(range(1, 33))


def test_a_value_carries_the_id_of_the_key_that_wrote_it() -> None:
    crypto.configure(OLD)
    old_id = crypto.current_key_id()
    sealed = crypto.encrypt(b"Jaylen", "x", "row1")
    assert crypto.key_id_of(sealed) == old_id
    crypto.configure(NEW, OLD)
    assert crypto.current_key_id() != old_id
    assert crypto.key_id_of(crypto.encrypt(b"Jaylen", "x", "row1")) == crypto.current_key_id()
    assert crypto.decrypt(sealed, "x", "row1") == b"Jaylen"  # an older key still reads
    crypto.configure(NEW)
    with pytest.raises(crypto.DecryptionError, match=f"key {old_id}, which is not in DATA_KEY"):
        crypto.decrypt(sealed, "x", "row1")


def test_a_value_written_before_keys_had_ids_still_reads_under_any_configured_key() -> None:
    legacy = legacy_blob(OLD, b"Jaylen", "referrals.details")
    crypto.configure(NEW, OLD)
    assert crypto.key_id_of(legacy) is None
    assert not crypto.is_current(legacy)
    assert crypto.decrypt(legacy, "referrals.details", "any-row") == b"Jaylen"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(legacy, "conversations.draft")
    crypto.configure(NEW)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(legacy, "referrals.details")


def test_a_value_is_bound_to_its_row() -> None:
    crypto.configure(NEW)
    sealed = crypto.encrypt(b"+447700900123", "referrals.origin_address", "a" * 32)
    assert crypto.decrypt(sealed, "referrals.origin_address", "a" * 32) == b"+447700900123"
    with pytest.raises(crypto.DecryptionError, match="altered or moved"):
        crypto.decrypt(sealed, "referrals.origin_address", "b" * 32)


def test_look_ups_hash_under_every_configured_key_current_first() -> None:
    crypto.configure(OLD)
    old = crypto.keyed_hash("+447700900123", "sender")
    crypto.configure(NEW, OLD)
    new = crypto.keyed_hash("+447700900123", "sender")
    assert new != old
    assert crypto.keyed_hashes("+447700900123", "sender") == [new, old]


def test_the_same_key_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        crypto.configure(NEW, NEW)


async def _two_referrals(sessions: async_sessionmaker[AsyncSession]) -> None:
    from datetime import UTC, datetime

    from store.referrals import create_referral

    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        for reference, number in (("LGX-AAAAA", "+447700900111"), ("LGX-BBBBB", "+447700900222")):
            await create_referral(db, reference=reference, channel="sms", details={"yp_first_name": reference},
                                  borough="Lambeth", age=17, urgency="routine", referrer_hash="h", now=now,
                                  origin_address=number, origin_hash="o", safeguarding_flag=False)


async def test_an_address_moved_to_another_referral_is_refused_not_used(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from sqlalchemy import select

    from store.models import Referral
    from store.referrals import get_referral

    await _two_referrals(sessions)
    async with sessions() as db:
        assert (await get_referral(db, "LGX-AAAAA")).origin_address == "+447700900111"  # type: ignore[union-attr]
    # Someone with write access to the database, but not the key, swaps where decisions are sent.
    async with sessions() as db, db.begin():
        await db.execute(text("UPDATE referrals SET origin_address = "
                              "(SELECT origin_address FROM referrals WHERE reference = 'LGX-BBBBB') "
                              "WHERE reference = 'LGX-AAAAA'"))
    async with sessions() as db:
        with pytest.raises(crypto.DecryptionError, match="altered or moved"):
            await get_referral(db, "LGX-AAAAA")
        with pytest.raises(crypto.DecryptionError):
            await db.execute(select(Referral.origin_address).where(Referral.reference == "LGX-AAAAA"))
        assert (await get_referral(db, "LGX-BBBBB")).origin_address == "+447700900222"  # type: ignore[union-attr]


async def test_existing_rows_with_values_from_before_keys_had_ids_still_read(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from store.referrals import get_referral

    await _two_referrals(sessions)
    master = settings.data_keys()[0]
    legacy = legacy_blob(master, b'{"yp_first_name":"Jaylen"}', "referrals.details")
    async with sessions() as db, db.begin():
        await db.execute(text("UPDATE referrals SET details = :legacy WHERE reference = 'LGX-AAAAA'"),
                         {"legacy": legacy})
    async with sessions() as db:
        assert (await get_referral(db, "LGX-AAAAA")).details == {"yp_first_name": "Jaylen"}  # type: ignore[union-attr]


def test_a_value_written_by_hand_must_say_its_row() -> None:
    from sqlalchemy.dialects import sqlite

    from store.models import Place
    from store.sealing import row_values

    crypto.configure(NEW)
    label = Place.__table__.c.label.type
    with pytest.raises(TypeError, match="needs its row"):
        label.process_bind_param("the usual place", sqlite.dialect())
    values = row_values(Place, user_id=1, label="the usual place")
    assert len(values["row_uid"]) == 32 and values["label"].row_uid == values["row_uid"]
    assert values["user_id"] == 1


async def test_a_write_that_fails_leaves_the_objects_holding_plain_values(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from store.models import Place

    place = Place(user_id=987654, label="the usual place", created_at=datetime.now(UTC))  # no such user
    with pytest.raises(IntegrityError):
        async with sessions() as db, db.begin():
            db.add(place)
            await db.flush()
    assert place.label == "the usual place"
