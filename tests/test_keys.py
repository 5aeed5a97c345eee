"""Data keys rotate while the app serves, and the staff cookie key is a secret of its own."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from channels_support import PUBLIC_BASE_URL, TWILIO_NUMBER, LiveApp, channel_settings, serve_live
from fakes.twilio_api import FakeTwilio, signed_inbound
from keys_support import legacy_blob
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import login, make_user
from support import LONDON, TEST_KEY, WHOLE_REFERRAL, chat, run_cli

from bot.actions import Actor, act
from bot.sessions import add_session, send_first_contact
from bot.settings import Settings, SettingsError, decode_data_key, load_settings
from bot.web import create_app
from flows.channels import Channel
from flows.notices import status_unknown_text
from flows.process import Action, Role
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.keys import TABLES, RotationStep, rotate_step, values_by_key
from store.models import Contact, Conversation, Place, Referral
from store.referrals import get_referral
from store.remembered import recall_referrer

OLD_KEY = TEST_KEY
NEW_KEY = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
REFERRER = "+447700900123"
YOUNG = "+447700900456"
OPTED_OUT = "+447700900789"
CLI = Actor("cli", Role.ADMIN)


def key_id(key: str) -> str:
    crypto.configure(decode_data_key(key))
    return crypto.current_key_id()


async def sms(live: LiveApp, twilio: FakeTwilio, body: str, sid: str, sender: str) -> list[str]:
    params, headers = signed_inbound(PUBLIC_BASE_URL + "/sms/inbound", twilio.auth_token, From=sender, To=TWILIO_NUMBER,
                                     Body=body, MessageSid=sid)
    response = await live.http.post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


async def allocated_referral(live: LiveApp, twilio: FakeTwilio) -> str:
    """A referral made by SMS, allocated to a caseworker, with a session booked: every kind of row there is."""
    replies: list[str] = []
    for n, body in enumerate(t for t in WHOLE_REFERRAL if t != "07700 900123"):
        replies = await sms(live, twilio, body, f"SMref{n:029d}", REFERRER)
    reference = replies[0].split("Referral ", 1)[1].split(" ", 1)[0]
    # The referrer keeps their details for next time (remembered_referrers).
    assert (await sms(live, twilio, "Y", "SMkeep0000000000000000000000000000", REFERRER))[0].startswith("Kept.")
    await make_user(live.sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    settings = live.settings
    async with live.sessions() as db, db.begin():
        for action, extra in ((Action.CLAIM, {}), (Action.ACCEPT, {}),
                              (Action.ALLOCATE, {"caseworker": "cas@unit.example.org"})):
            await act(db, settings, reference, action, CLI, datetime.now(UTC), **extra)
        when = (datetime.now(LONDON) + timedelta(days=3)).replace(hour=15, minute=0)
        await add_session(db, settings, reference, when.date(), when.time(), "the usual place", CLI, datetime.now(UTC))
        # The first message lets the session's reminders be planned: outbox rows tied to a session.
        await send_first_contact(db, settings, reference, CLI, datetime.now(UTC))
    await live.dispatcher.run_once()
    assert await sms(live, twilio, "STOP", "SMstop-000000000000000000000000", OPTED_OUT) == []
    return reference


class Lookups:
    """Everything the app finds by keyed hash, asked again and again: each must still be found."""

    def __init__(self, live: LiveApp, twilio: FakeTwilio, reference: str) -> None:
        self.live, self.twilio, self.reference, self.count = live, twilio, reference, 0

    async def check(self) -> None:
        self.count += 1
        n = self.count
        # The young person's number (referrals.yp_phone_hash): their words go to their caseworker.
        reply = await sms(self.live, self.twilio, "can we meet at the park instead?", f"SMyp{n:028d}", YOUNG)
        assert reply and reply[0].startswith("Thanks"), reply
        # The referrer's number (referrals.origin_hash, conversations.sender_hash): STATUS knows it is theirs.
        reply = await sms(self.live, self.twilio, f"STATUS {self.reference}", f"SMst{n:028d}", REFERRER)
        assert reply != [status_unknown_text(self.reference)], reply
        # An opted-out number (contacts.address_hash): still opted out, so not answered.
        assert await sms(self.live, self.twilio, "hello?", f"SMoo{n:028d}", OPTED_OUT) == []
        async with self.live.sessions() as db:
            # ...and found, not made again: one conversation and one contact per number.
            senders = await db.scalar(select(func.count()).select_from(Conversation)
                                      .where(Conversation.channel == "sms"))
            contacts = await db.scalar(select(func.count()).select_from(Contact).where(Contact.channel == "sms"))
            # The referrer's kept details (remembered_referrers.sender_hash), read under whichever key.
            kept = await recall_referrer(db, Channel.SMS, REFERRER)
        assert (senders, contacts) == (3, 3)
        assert kept is not None and kept["referrer_name"] == "Samira Okonkwo-Bright"


async def rotate_all(sessions: async_sessionmaker[AsyncSession], batch_size: int = 200) -> list[RotationStep]:
    steps = []
    while True:
        async with sessions() as db, db.begin():
            step = await rotate_step(db, datetime.now(UTC), batch_size)
        steps.append(step)
        if step.finished:
            return steps


async def test_a_rotation_moves_everything_to_the_new_key_while_every_look_up_keeps_working(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any
) -> None:
    old_id, new_id = key_id(OLD_KEY), key_id(NEW_KEY)
    async with serve_live(channel_settings(database_url, fake_twilio, fake_telegram, data_key=OLD_KEY)) as live:
        reference = await allocated_referral(live, fake_twilio)
        async with live.sessions() as db:
            before = await values_by_key(db)
    assert set(before) == {old_id}

    both = channel_settings(database_url, fake_twilio, fake_telegram, data_key=f"{NEW_KEY},{OLD_KEY}")
    async with serve_live(both) as live:
        lookups = Lookups(live, fake_twilio, reference)
        await lookups.check()
        table = None
        while True:
            async with live.sessions() as db, db.begin():
                step = await rotate_step(db, datetime.now(UTC), batch_size=3)
            if step.table != table:  # each table part-way, and the one before it done
                await lookups.check()
                table = step.table
            if step.finished:
                break
        async with live.sessions() as db:
            after = await values_by_key(db)
    assert set(after) == {new_id} and after[new_id] >= before[old_id]

    # The old key is gone: everything reads, and everything is found.
    async with serve_live(channel_settings(database_url, fake_twilio, fake_telegram, data_key=NEW_KEY)) as live:
        await Lookups(live, fake_twilio, reference).check()
        async with live.sessions() as db:
            referral = await get_referral(db, reference)
            assert referral is not None and referral.details["yp_name"]["first"] == "Jaylen"
            assert referral.origin_address == REFERRER


async def test_referrers_chat_on_while_a_rotation_runs_beside_them(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for n in range(3):  # something to rotate, made under the old key
        await chat(client, f"before{n}", WHOLE_REFERRAL)
    both = settings.model_copy(update={"data_key": load_settings(data_key=f"{NEW_KEY},{OLD_KEY}").data_key})
    app = create_app(both)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            engine = make_engine(settings.database_url)
            try:
                rotation = asyncio.create_task(rotate_all(make_sessionmaker(engine), batch_size=1))
                talks = [chat(http, f"during{n}", WHOLE_REFERRAL) for n in range(2)]
                talks.append(chat(http, "before0", ["hi"], prefix="again"))  # an old conversation, found again
                replies = await asyncio.gather(*talks)
                steps = await rotation
            finally:
                await engine.dispose()
    assert all("queued" in r[-1][0] for r in replies[:2])
    assert steps[-1].finished and len(steps) > 10  # it really ran alongside, a row at a time
    async with sessions() as db:
        assert list(await values_by_key(db)) == [crypto.current_key_id()]
        assert await db.scalar(select(func.count()).select_from(Conversation)) == 5
        assert await db.scalar(select(func.count()).select_from(Referral)) == 5


async def test_a_rotation_under_the_same_key_changes_no_keyed_hash_and_binds_older_values_to_their_rows(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    replies = await chat(client, "same", WHOLE_REFERRAL)
    assert "queued" in replies[-1][0]
    # A value from before keys had ids (the first byte 1): written here as that version wrote it.
    legacy = legacy_blob(settings.data_keys()[0], b"the usual place", "places.label")
    async with sessions() as db, db.begin():
        db.add(Place(user_id=await _a_user(sessions), label="x", created_at=datetime.now(UTC)))
    async with sessions() as db, db.begin():
        await db.execute(text("UPDATE places SET label = :legacy"), {"legacy": legacy})

    steps = await rotate_all(sessions)
    # The hashes the app wrote are the ones rotation computes: a rotation to a new key keeps look-ups right.
    assert sum(step.rehashed for step in steps) == 0
    assert sum(step.resealed for step in steps) == 1
    async with sessions() as db:
        assert list(await values_by_key(db)) == [crypto.current_key_id()]
        assert (await db.scalar(select(Place.label))) == "the usual place"
        # Now bound to its row: moved to another row, it no longer reads.
        uid = await db.scalar(select(Place.row_uid))
    sealed = (await _raw(sessions, "SELECT label FROM places"))
    assert crypto.decrypt(sealed, "places.label", uid) == b"the usual place"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, "places.label", "0" * 32)


async def _a_user(sessions: async_sessionmaker[AsyncSession]) -> int:
    await make_user(sessions, "places@unit.example.org", "caseworker")
    async with sessions() as db:
        return int(await db.scalar(text("SELECT id FROM users")))


async def _raw(sessions: async_sessionmaker[AsyncSession], sql: str) -> bytes:
    async with sessions() as db:
        return bytes(await db.scalar(text(sql)))


async def _rows_everywhere(sessions: async_sessionmaker[AsyncSession]) -> int:
    """A few rows in a few tables, written under the current key; how many rows hold encrypted values."""
    user = await _a_user(sessions)
    async with sessions() as db, db.begin():
        db.add_all([Place(user_id=user, label=f"place {n}", created_at=datetime.now(UTC)) for n in range(7)])
        now = datetime.now(UTC)
        db.add_all([Contact(channel="sms", address_hash=f"h{n}", address=f"+4477009000{n:02d}", opted_out=False,
                            blocked=False, created_at=now, changed_at=now) for n in range(5)])
    total = 0
    async with sessions() as db:
        for plan in TABLES:
            total += int(await db.scalar(select(func.count()).select_from(plan.table)) or 0)
    return total


async def test_a_stopped_rotation_carries_on_where_it_was(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    total = await _rows_everywhere(sessions)
    crypto.configure(decode_data_key(NEW_KEY), decode_data_key(OLD_KEY))
    first = []
    for _ in range(2):
        async with sessions() as db, db.begin():
            first.append(await rotate_step(db, datetime.now(UTC), batch_size=2))
    assert not first[-1].finished

    # Stopped (the process killed): a new one, with its own connections, carries on.
    engine = make_engine(settings.database_url)
    try:
        rest = await rotate_all(make_sessionmaker(engine), batch_size=2)
    finally:
        await engine.dispose()
    assert sum(step.rows for step in first + rest) == total  # no row looked at twice
    assert sum(step.resealed for step in first + rest) == total
    async with sessions() as db:
        assert await values_by_key(db) == {crypto.current_key_id(): total}
    # Run again when done: nothing to do, and done.
    again = await rotate_all(sessions)
    assert again == [RotationStep(finished=True)]


async def test_a_value_the_app_writes_while_a_batch_is_being_rotated_is_kept(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _rows_everywhere(sessions)
    crypto.configure(decode_data_key(NEW_KEY), decode_data_key(OLD_KEY))
    engine = make_engine(settings.database_url)
    rotation_sessions = make_sessionmaker(engine)
    try:
        async with sessions() as db, db.begin():
            place = (await db.execute(select(Place).order_by(Place.id).limit(1).with_for_update())).scalar_one()
            place.label = "written by the app meanwhile"
            await db.flush()  # the row is now locked by the app's open transaction
            rotating = asyncio.create_task(rotate_all(rotation_sessions, batch_size=500))
            await asyncio.sleep(1)
            # The rotation has read the old value (PostgreSQL) or not begun (SQLite), and waits for the row.
            assert not rotating.done()
        await rotating
    finally:
        await engine.dispose()
    async with sessions() as db:
        labels = list((await db.execute(select(Place.label).order_by(Place.id))).scalars())
        assert labels[0] == "written by the app meanwhile"
        assert labels[1:] == [f"place {n}" for n in range(1, 7)]
        # 7 places, 5 contacts, and the test user's authenticator secret.
        assert await values_by_key(db) == {crypto.current_key_id(): 13}


async def test_values_written_under_the_old_key_after_a_table_was_done_send_it_round_again(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await _a_user(sessions)
    crypto.configure(decode_data_key(NEW_KEY), decode_data_key(OLD_KEY))
    await rotate_all(sessions)
    # A process still running with only the old key writes a row after its table was done.
    crypto.configure(decode_data_key(OLD_KEY))
    async with sessions() as db, db.begin():
        db.add(Place(user_id=user, label="late", created_at=datetime.now(UTC)))
    crypto.configure(decode_data_key(NEW_KEY), decode_data_key(OLD_KEY))
    async with sessions() as db, db.begin():
        check = await rotate_step(db, datetime.now(UTC))
    assert check == RotationStep(finished=False, stray={"places": 1})
    rest = await rotate_all(sessions)
    assert rest[-1].finished and sum(step.resealed for step in rest) == 1
    async with sessions() as db:
        assert list(await values_by_key(db)) == [crypto.current_key_id()]


async def test_rotate_key_rotates_and_says_when_the_old_key_can_go(
    client: httpx.AsyncClient, env_for_cli: dict[str, Any]
) -> None:
    replies = await chat(client, "cli", WHOLE_REFERRAL)
    reference = replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
    result = await run_cli({**env_for_cli, "DATA_KEY": f"{NEW_KEY},{OLD_KEY}"}, "rotate-key", "--batch-size", "5")
    assert result.returncode == 0, result.stderr
    new_id = key_id(NEW_KEY)
    assert f"Rotating to key {new_id} (1 older key kept for reading)." in result.stdout
    assert "older keys can be removed from DATA_KEY" in result.stdout
    shown = await run_cli({**env_for_cli, "DATA_KEY": NEW_KEY}, "referrals", "show", reference, "--json")
    assert shown.returncode == 0, shown.stderr
    assert "Jaylen" in shown.stdout


async def test_a_data_key_that_cannot_read_the_database_stops_rotation_with_one_line(
    client: httpx.AsyncClient, env_for_cli: dict[str, Any]
) -> None:
    await chat(client, "lost", WHOLE_REFERRAL[:3])
    result = await run_cli({**env_for_cli, "DATA_KEY": NEW_KEY}, "rotate-key")
    assert result.returncode == 1
    assert "which is not in DATA_KEY" in result.stderr and "Traceback" not in result.stderr


# --- settings ------------------------------------------------------------------------------------


def test_data_key_lists_the_current_key_first_then_older_ones() -> None:
    settings = load_settings(data_key=f"{NEW_KEY}, {OLD_KEY}")
    assert settings.data_keys() == [decode_data_key(NEW_KEY), decode_data_key(OLD_KEY)]
    with pytest.raises(SettingsError, match="Setting DATA_KEY: key 2 of 2: expected 32 random bytes"):
        load_settings(data_key=f"{NEW_KEY},nope")
    with pytest.raises(SettingsError, match="listed twice"):
        load_settings(data_key=f"{NEW_KEY},{NEW_KEY}")


def test_production_needs_a_session_secret_of_its_own() -> None:
    settings = load_settings(environment="production", data_key=OLD_KEY)
    with pytest.raises(SettingsError, match="SESSION_SECRET is not set: production needs it"):
        settings.session_key()
    assert load_settings(environment="production", data_key=OLD_KEY, session_secret=NEW_KEY).session_key() == \
        decode_data_key(NEW_KEY)


def test_production_without_a_session_secret_refuses_to_start(env_for_cli: dict[str, Any]) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], env={**env_for_cli, "ENVIRONMENT": "production"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == ("referral-bot: SESSION_SECRET is not set: production needs it in the environment "
                                     "(referral-bot keygen makes one)")


async def _staff_page(settings: Settings, cookies: httpx.Cookies | None = None) -> tuple[int, httpx.Cookies]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=cookies) as http:
            if cookies is None:
                await login(http, "unit@unit.example.org")
            page = await http.get("/staff/queue")
            return page.status_code, http.cookies


async def test_rotating_the_data_key_keeps_staff_logged_in_and_a_new_session_secret_touches_no_data(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    replies = await chat(client, "staff", WHOLE_REFERRAL)
    reference = replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
    await make_user(sessions, "unit@unit.example.org", "unit")
    secret = base64.urlsafe_b64encode(bytes(range(50, 82))).decode()
    with_secret = settings.model_copy(update={"session_secret": load_settings(session_secret=secret).session_secret})
    status, cookies = await _staff_page(with_secret)
    assert status == 200

    rotated = with_secret.model_copy(update={"data_key": load_settings(data_key=f"{NEW_KEY},{OLD_KEY}").data_key})
    assert (await _staff_page(rotated, cookies))[0] == 200
    await rotate_all(sessions)
    assert (await _staff_page(rotated, cookies))[0] == 200

    other = base64.urlsafe_b64encode(bytes(range(60, 92))).decode()
    new_secret = rotated.model_copy(update={"session_secret": load_settings(session_secret=other).session_secret})
    assert (await _staff_page(new_secret, cookies))[0] == 303  # logged out, to the login page
    async with sessions() as db:
        assert (await get_referral(db, reference)) is not None  # and the data reads as before
        assert await db.scalar(select(func.count()).select_from(Referral)) == 1


# --- a database from before keys had ids ---------------------------------------------------------


def test_a_database_from_before_this_version_keeps_working_and_its_values_get_bound_to_their_rows(
    database_url: str,
) -> None:
    from alembic import command

    from store.conversations import lock_conversation, sender_hash
    from store.migrate import alembic_config, upgrade_to_head
    from store.referrals import referrer_hash, young_person_hash

    master = decode_data_key(OLD_KEY)
    crypto.configure(master)
    now = datetime.now(UTC)
    details = b'{"yp_first_name":"Jaylen","yp_mobile":"+447700900456","referrer_phone":"+447700900123"}'
    rows = {
        "details": legacy_blob(master, details, "referrals.details"),
        "origin": legacy_blob(master, REFERRER.encode(), "referrals.origin_address"),
        "sender": legacy_blob(master, REFERRER.encode(), "conversations.sender"),
        "draft": legacy_blob(master, b'{"state":"done"}', "conversations.draft"),
        "sender_hash": sender_hash("sms", REFERRER), "origin_hash": sender_hash("sms", REFERRER),
        "referrer_hash": referrer_hash("+447700900123"), "yp_hash": young_person_hash(YOUNG), "now": now,
    }

    async def write_as_before() -> None:
        engine = make_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(
                    "INSERT INTO conversations (channel, sender_hash, sender, state, draft, flagged, created_at, "
                    "updated_at) VALUES ('sms', :sender_hash, :sender, 'done', :draft, false, :now, :now)"), rows)
                await connection.execute(text(
                    "INSERT INTO referrals (reference, status, channel, borough, age, under_18, urgency, "
                    "safeguarding_flag, referrer_hash, details, created_at, updated_at, origin_address, origin_hash, "
                    "yp_phone_hash, reminders_off) VALUES ('LGX-OLD22', 'queued', 'sms', 'Lambeth', 17, true, "
                    "'routine', false, :referrer_hash, :details, :now, :now, :origin, :origin_hash, :yp_hash, false)"),
                    rows)
        finally:
            await engine.dispose()

    async def read_and_rotate() -> list[RotationStep]:
        engine = make_engine(database_url)
        sessions = make_sessionmaker(engine)
        try:
            async with sessions() as db, db.begin():
                referral = await get_referral(db, "LGX-OLD22")
                assert referral is not None and referral.details["yp_first_name"] == "Jaylen"
                assert referral.origin_address == REFERRER and len(referral.row_uid) == 32
                conversation = await lock_conversation(db, "sms", REFERRER, now)
                assert conversation.draft == {"state": "done"}
            crypto.configure(decode_data_key(NEW_KEY), master)
            steps = await rotate_all(sessions)
            async with sessions() as db:
                assert list(await values_by_key(db)) == [crypto.current_key_id()]
                assert await db.scalar(select(func.count()).select_from(Conversation)) == 1
            return steps
        finally:
            await engine.dispose()

    config = alembic_config(database_url)
    command.downgrade(config, "0006")
    try:
        asyncio.run(write_as_before())
    finally:
        upgrade_to_head(database_url)
    steps = asyncio.run(read_and_rotate())
    assert sum(step.resealed for step in steps) == 4
    assert sum(step.rehashed for step in steps) == 4  # sender, origin, referrer and young person, under the new key
    crypto.configure(decode_data_key(NEW_KEY))
    assert asyncio.run(_details_of("LGX-OLD22", database_url))["yp_mobile"] == YOUNG


async def _details_of(reference: str, database_url: str) -> dict[str, Any]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            referral = await get_referral(db, reference)
            assert referral is not None
            return referral.details
    finally:
        await engine.dispose()
