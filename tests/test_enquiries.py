"""Enquiries (ME) over the real app: signed SMS in, stored sealed, the unit told, the CLI, retention, keys."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from channels_support import channel_settings, eventually, serve_live
from fakes.twilio_api import FakeTwilio
from sqlalchemy import select, text
from test_sms import text_in

from flows.channels import Channel
from flows.discreet import check_discreet
from flows.enquiry import EnquirySent
from flows.statuses import EnquiryStatus
from flows.text import segment_count
from store.audit import audit_entries
from store.enquiries import create_enquiry, move_enquiry
from store.models import Enquiry
from store.retention import purge_expired

YOUNG_PERSON = "+447700900777"
NAME = "Tiwaloluwa"  # unusual enough that finding it anywhere is a leak
MESSAGE = "Can someone talk to me about my cousin Marcellus please"


def _sid(n: int) -> str:
    return f"SM{n:032x}"


async def test_me_over_sms_stores_a_sealed_enquiry_tells_the_unit_and_logs_nothing_personal(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="referral_bot")
    settings = channel_settings(database_url, fake_twilio, fake_telegram, unit_telegram_chat_id="-100123")
    async with serve_live(settings) as live:
        sent = ["hi", "ME", NAME, "Y", MESSAGE]
        answers = [await text_in(live, fake_twilio, body, _sid(n), sender=YOUNG_PERSON) for n, body in enumerate(sent)]
        assert all(status == 200 for status, _ in answers)
        first, *enquiry_replies = [replies for _, replies in answers]
        assert first[0].endswith("Young person or family? Send ME")
        assert "What should we call you?" in enquiry_replies[0][0]
        assert enquiry_replies[-1][0].startswith("Thanks, we have your message.")
        for replies in enquiry_replies:
            for reply in replies:
                assert check_discreet(reply) == [] and segment_count(reply) == 1
        live.dispatcher.kick()
        notices = await eventually(lambda: [m["text"] for m in fake_telegram.sent if str(m["chat_id"]) == "-100123"])
        async with live.sessions() as db:
            enquiry = (await db.execute(select(Enquiry))).scalar_one()
            raw = (await db.execute(text("SELECT details, origin_address FROM enquiries"))).one()
            audited = [e.action for e in await audit_entries(db)]
    assert enquiry.reference.startswith("ENQ-") and enquiry.status is EnquiryStatus.NEW
    assert enquiry.channel is Channel.SMS and enquiry.origin_address == YOUNG_PERSON
    assert enquiry.details == {"name": NAME, "safe_to_text": True, "message": MESSAGE}
    assert NAME.encode() not in bytes(raw[0]) and YOUNG_PERSON.encode() not in bytes(raw[1])
    assert notices == [f"New enquiry {enquiry.reference} from a young person or family. See Enquiries in the "
                       "staff pages."]
    assert "enquiry_sent" in audited
    logged = caplog.text
    assert f"enquiry received reference={enquiry.reference}" in logged  # the log is captured at all
    for personal in (NAME, "Marcellus", YOUNG_PERSON, YOUNG_PERSON[3:]):
        assert personal not in logged


async def test_danger_on_the_enquiry_path_gets_childline_and_shout_and_alerts_the_unit_as_an_enquiry(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any
) -> None:
    settings = channel_settings(database_url, fake_twilio, fake_telegram, unit_telegram_chat_id="-100123")
    async with serve_live(settings) as live:
        await text_in(live, fake_twilio, "ME", _sid(1), sender=YOUNG_PERSON)
        _, replies = await text_in(live, fake_twilio, "they are outside my house with a knife", _sid(2),
                                   sender=YOUNG_PERSON)
        assert "call 999" in replies[0] and "0800 1111" in replies[0] and "85258" in replies[0]
        assert "What should we call you?" in replies[1]
        for body, n in ((NAME, 3), ("n", 4), ("after 6pm on my mum's phone", 5)):
            _, replies = await text_in(live, fake_twilio, body, _sid(n), sender=YOUNG_PERSON)
        assert "text you back" not in replies[0]
        live.dispatcher.kick()
        notices = await eventually(lambda: [m["text"] for m in fake_telegram.sent if str(m["chat_id"]) == "-100123"]
                                   if len([m for m in fake_telegram.sent if str(m["chat_id"]) == "-100123"]) == 2
                                   else None)
        async with live.sessions() as db:
            enquiry = (await db.execute(select(Enquiry))).scalar_one()
    assert notices[0].startswith("Safeguarding: a message in an enquiry from a young person or family")
    assert notices[1].startswith("New enquiry ENQ-") and "SAFEGUARDING" in notices[1]
    assert enquiry.safeguarding_flag and enquiry.details["safe_to_text"] is False


async def test_a_referrer_never_sees_the_enquiry_path_and_the_first_reply_stays_one_segment(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any
) -> None:
    async with serve_live(channel_settings(database_url, fake_twilio, fake_telegram)) as live:
        _, replies = await text_in(live, fake_twilio, "hello", _sid(1))
        _, help_replies = await text_in(live, fake_twilio, "HELP", _sid(2))
    assert len(replies) == 2 and segment_count(replies[0]) == 1
    assert "Send ME" in help_replies[0]
    assert "What should we call you?" not in " ".join(replies + help_replies)


# --- the store: retention, and the CLI's list ----------------------------------------------------------


async def _enquiry(db: Any, reference: str, now: datetime) -> Enquiry:
    return await create_enquiry(db, reference=reference, sent=EnquirySent(NAME, True, MESSAGE), channel=Channel.SMS,
                                origin_address=YOUNG_PERSON, safeguarding_flag=False, now=now)


async def test_enquiries_are_purged_only_once_handled_and_past_their_period(sessions: Any) -> None:
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=100)
    async with sessions() as db, db.begin():
        for reference in ("ENQ-AAAAA", "ENQ-BBBBB", "ENQ-CCCCC", "ENQ-DDDDD"):
            await _enquiry(db, reference, long_ago)
        await move_enquiry(db, "ENQ-BBBBB", EnquiryStatus.REPLIED, "unit@example.org", long_ago)
        await move_enquiry(db, "ENQ-CCCCC", EnquiryStatus.CLOSED, "unit@example.org", long_ago)
        await move_enquiry(db, "ENQ-DDDDD", EnquiryStatus.CLOSED, "unit@example.org", now - timedelta(days=5))
    async with sessions() as db, db.begin():
        counts = await purge_expired(db, now, draft_ttl_hours=72, declined_days=365, closed_days=730,
                                     enquiry_days=90)
    async with sessions() as db:
        left = sorted((await db.execute(select(Enquiry.reference))).scalars())
        purged = [e.reference for e in await audit_entries(db) if e.action == "purged"]
    assert counts.enquiries == 2
    assert left == ["ENQ-AAAAA", "ENQ-DDDDD"]  # a new one waits for someone; a recent close is kept
    assert sorted(purged) == ["ENQ-BBBBB", "ENQ-CCCCC"]


async def test_an_enquiry_moves_forward_only(sessions: Any) -> None:
    from flows.process import Refused

    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        await _enquiry(db, "ENQ-EEEEE", now)
        await move_enquiry(db, "ENQ-EEEEE", EnquiryStatus.CLOSED, "unit@example.org", now)
        with pytest.raises(Refused):
            await move_enquiry(db, "ENQ-EEEEE", EnquiryStatus.REPLIED, "unit@example.org", now)
        with pytest.raises(Refused):
            await move_enquiry(db, "ENQ-NOPE2", EnquiryStatus.CLOSED, "unit@example.org", now)


async def test_enquiries_list_json_shows_reference_time_channel_and_status_and_nothing_personal(
    sessions: Any, env_for_cli: dict[str, str]
) -> None:
    from support import run_cli

    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        await _enquiry(db, "ENQ-FFFFF", now - timedelta(hours=1))
        await _enquiry(db, "ENQ-GGGGG", now)
        await move_enquiry(db, "ENQ-FFFFF", EnquiryStatus.REPLIED, "unit@example.org", now)
    result = await run_cli(env_for_cli, "enquiries", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [e["reference"] for e in listed] == ["ENQ-GGGGG", "ENQ-FFFFF"]
    assert [e["status"] for e in listed] == ["new", "replied"]
    assert all(e["channel"] == "sms" and datetime.fromisoformat(e["created_at"]) for e in listed)
    assert NAME not in result.stdout and YOUNG_PERSON not in result.stdout and "cousin" not in result.stdout
    table = await run_cli(env_for_cli, "enquiries", "list", "--status", "new")
    assert table.returncode == 0 and "ENQ-GGGGG" in table.stdout and "ENQ-FFFFF" not in table.stdout
    bad = await run_cli(env_for_cli, "enquiries", "list", "--status", "lost")
    assert bad.returncode == 2 and "unknown status 'lost'" in bad.stderr


async def test_rotate_key_reseals_enquiries_bound_to_their_rows(sessions: Any) -> None:
    import base64

    from support import TEST_KEY

    from bot.settings import decode_data_key
    from store import crypto
    from store.keys import TABLES, rotate_step, values_by_key

    new_key = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
    assert "enquiries" in {plan.name for plan in TABLES}
    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        await _enquiry(db, "ENQ-HHHHH", now)
    old_id = crypto.current_key_id()
    try:
        crypto.configure(decode_data_key(new_key), decode_data_key(TEST_KEY))
        while True:
            async with sessions() as db, db.begin():
                if (await rotate_step(db, now, batch_size=2)).finished:
                    break
        crypto.configure(decode_data_key(new_key))  # the old key gone: the enquiry still reads
        async with sessions() as db:
            assert crypto.current_key_id() in await values_by_key(db)
            assert old_id not in await values_by_key(db)
            enquiry = (await db.execute(select(Enquiry))).scalar_one()
            assert enquiry.details["name"] == NAME and enquiry.origin_address == YOUNG_PERSON
            sealed, uid = (await db.execute(text("SELECT details, row_uid FROM enquiries"))).one()
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(bytes(sealed), "enquiries.details", "0" * 32)  # bound to its row
        assert b"Tiwaloluwa" in crypto.decrypt(bytes(sealed), "enquiries.details", uid)
    finally:
        crypto.configure(decode_data_key(TEST_KEY))


async def test_telegram_me_command_starts_the_enquiry_and_the_chat_is_what_the_unit_sees(live: Any,
                                                                                       fake_telegram: Any) -> None:
    from fakes.telegram_api import text_update
    from test_telegram import CHAT, post_update, texts_sent

    for n, body in enumerate(["/me", NAME, "Y", MESSAGE], start=1):
        assert await post_update(live, text_update(n, CHAT, body)) == 200
    sent = texts_sent(fake_telegram)
    assert "What should we call you?" in sent[0]
    assert sent[-1].startswith("Thanks, we have your message.")
    async with live.sessions() as db:
        enquiry = (await db.execute(select(Enquiry))).scalar_one()
    assert enquiry.channel is Channel.TELEGRAM and enquiry.details["message"] == MESSAGE


async def test_me_starts_an_enquiry_during_screening_but_never_ends_a_referral_with_details_in_it(
    client: Any, sessions: Any
) -> None:
    from dialog_support import ELIGIBLE_UNTIL_DETAILS
    from support import chat

    screening = await chat(client, "screening", [ELIGIBLE_UNTIL_DETAILS[0], ELIGIBLE_UNTIL_DETAILS[1], "ME"])
    assert "What should we call you?" in screening[-1][0]
    details = await chat(client, "details", [*ELIGIBLE_UNTIL_DETAILS, "Sam Worker", "me"])
    assert not any("What should we call you?" in reply for reply in details[-1])
    async with sessions() as db:
        states = dict((await db.execute(text("SELECT state, state FROM conversations"))).all())
    assert "enquiry_name" in states and len(states) == 2
