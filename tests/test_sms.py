"""SMS through Twilio, end to end: signed webhooks in, TwiML out, the REST API and its status callbacks."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from channels_support import PUBLIC_BASE_URL, TWILIO_NUMBER, LiveApp, eventually
from fakes.twilio_api import FakeTwilio, signed_inbound
from sqlalchemy import func, select, update
from support import WHOLE_REFERRAL

from flows.messages import NOT_SAVED
from flows.statuses import OutboundStatus
from flows.text import segment_count
from store.models import Contact, ContactEvent, InboundMessage, OutboundMessage, Referral
from store.outbox import enqueue

REFERRER = "+447700900123"
INBOUND_URL = PUBLIC_BASE_URL + "/sms/inbound"


async def text_in(live: LiveApp, twilio: FakeTwilio, body: str, sid: str, sender: str = REFERRER,
                  headers: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """A phone texting the app, as Twilio would post it (signed for the public URL)."""
    params, signed = signed_inbound(INBOUND_URL, twilio.auth_token, From=sender, To=TWILIO_NUMBER, Body=body,
                                    MessageSid=sid)
    response = await live.http.post("/sms/inbound", data=params, headers=headers if headers is not None else signed)
    if response.status_code != 200:
        return response.status_code, []
    assert response.headers["content-type"].startswith("application/xml")
    return 200, [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def _sid(n: int) -> str:
    return f"SM{n:032x}"


async def _count(live: LiveApp, model: Any) -> int:
    async with live.sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_whole_referral_over_sms_ends_queued_with_the_senders_number(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    texts = [t for t in WHOLE_REFERRAL if t != "07700 900123"]  # the number comes from the sender
    segments = 0
    replies: list[str] = []
    for n, text in enumerate(texts):
        status, replies = await text_in(live, fake_twilio, text, _sid(n))
        assert status == 200
        segments += sum(segment_count(r) for r in replies)
    assert replies[0].startswith("Thank you. Referral ")
    async with live.sessions() as db:
        referral = (await db.execute(select(Referral))).scalar_one()
    assert referral.status == "queued" and referral.channel == "sms"
    assert referral.details["referrer_phone"] == REFERRER
    # One segment a reply, the summary up to four, and two texts more: the welcome, the offer to keep the
    # referrer's details after the receipt.
    assert segments <= len(texts) + 5
    async with live.sessions() as db:
        recorded = await db.scalar(select(func.sum(InboundMessage.reply_segments)))
    assert recorded == segments


async def test_a_wrong_or_missing_signature_gets_403_and_touches_nothing(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    assert (await text_in(live, fake_twilio, "hi", _sid(1), headers={}))[0] == 403
    assert (await text_in(live, fake_twilio, "hi", _sid(2), headers={"X-Twilio-Signature": "bm9wZQ=="}))[0] == 403
    # Signed for the address the app sees rather than the public one Twilio called: refused too.
    params, signed = signed_inbound(live.base_url + "/sms/inbound", fake_twilio.auth_token, From=REFERRER,
                                    To=TWILIO_NUMBER, Body="hi", MessageSid=_sid(3))
    assert (await live.http.post("/sms/inbound", data=params, headers=signed)).status_code == 403
    # A body altered after signing.
    params, signed = signed_inbound(INBOUND_URL, fake_twilio.auth_token, From=REFERRER, To=TWILIO_NUMBER,
                                    Body="hi", MessageSid=_sid(4))
    assert (await live.http.post("/sms/inbound", data={**params, "Body": "STOP"}, headers=signed)).status_code == 403
    assert await _count(live, InboundMessage) == 0


async def test_a_replayed_message_sid_returns_the_same_twiml_and_changes_nothing(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await text_in(live, fake_twilio, "hi", _sid(10))
    first = await text_in(live, fake_twilio, "14/02/2006", _sid(11))
    again = await text_in(live, fake_twilio, "14/02/2006", _sid(11))
    assert first == again and "borough" in first[1][0]
    burst = await asyncio.gather(*(text_in(live, fake_twilio, "Lambeth", _sid(12)) for _ in range(10)))
    assert len({tuple(b[1]) for b in burst}) == 1
    assert "gang" in burst[0][1][0]
    assert await _count(live, InboundMessage) == 3


async def test_a_new_senders_first_texts_arriving_together_make_one_conversation_and_are_all_answered(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from store.models import Conversation

    burst = await asyncio.gather(*(text_in(live, fake_twilio, "hi", _sid(20 + n)) for n in range(6)))
    assert [status for status, _ in burst] == [200] * 6
    assert all(replies for _, replies in burst)  # each answered, one after another
    assert (await _count(live, Conversation), await _count(live, Contact), await _count(live, InboundMessage)) == (
        1,
        1,
        6,
    )
    async with live.sessions() as db:
        statuses = (await db.execute(select(InboundMessage.status))).scalars().all()
    assert set(statuses) == {"processed"}


async def test_stop_silences_every_message_the_bot_would_start_and_start_reverses_it(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await text_in(live, fake_twilio, "hi", _sid(20))
    assert await text_in(live, fake_twilio, "Stop", _sid(21)) == (200, [])  # Twilio answers STOP itself
    assert await text_in(live, fake_twilio, "14/02/2006", _sid(22)) == (200, [])  # never a reply while opted out
    now = datetime.now(UTC)
    async with live.sessions() as db, db.begin():
        notice = await enqueue(db, channel="sms", to=REFERRER, body="Your referral was declined.", purpose="decision",
                               now=now)
    assert notice is not None and notice.status == "suppressed"
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []

    assert await text_in(live, fake_twilio, "START", _sid(23)) == (200, [])
    async with live.sessions() as db, db.begin():
        again = await enqueue(db, channel="sms", to=REFERRER, body="Your referral was accepted.", purpose="decision",
                              now=now)
    assert again is not None
    live.dispatcher.kick()
    await eventually(lambda: fake_twilio.messages)
    assert [m.body for m in fake_twilio.messages] == ["Your referral was accepted."]
    async with live.sessions() as db:
        events = (await db.execute(select(ContactEvent.event).order_by(ContactEvent.id))).scalars().all()
    assert events == ["opt_out", "opt_in"]


async def _one_outbound(live: LiveApp) -> OutboundMessage:
    async with live.sessions() as db:
        return (await db.execute(select(OutboundMessage))).scalar_one()


async def _make_due(live: LiveApp) -> None:
    async with live.sessions() as db, db.begin():
        await db.execute(update(OutboundMessage).values(next_attempt_at=datetime.now(UTC)))


async def test_retryable_send_errors_are_retried_with_backoff_then_sent(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(429, 20429)
    fake_twilio.fail_next(503)
    async with live.sessions() as db, db.begin():
        await enqueue(db, channel="sms", to=REFERRER, body="Hello from the unit", purpose="decision",
                      now=datetime.now(UTC))
    await live.dispatcher.run_once()
    first = await _one_outbound(live)
    assert (first.status, first.error_code, first.attempts) == ("pending", "20429", 1)
    assert first.next_attempt_at > datetime.now(UTC)  # backed off, not hammered
    await _make_due(live)
    await live.dispatcher.run_once()
    second = await _one_outbound(live)
    assert (second.status, second.attempts) == ("pending", 2)
    await _make_due(live)
    await live.dispatcher.run_once()
    sent = await _one_outbound(live)
    assert sent.status == "queued" and sent.provider_id == fake_twilio.messages[0].sid
    assert fake_twilio.attempts == 3 and len(fake_twilio.messages) == 1


async def test_a_permanent_error_is_recorded_and_not_retried(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(400, 21211, "Invalid 'To' Phone Number")
    async with live.sessions() as db, db.begin():
        await enqueue(db, channel="sms", to="+447700900999", body="Hello", purpose="decision", now=datetime.now(UTC))
    await live.dispatcher.run_once()
    failed = await _one_outbound(live)
    assert (failed.status, failed.error_code) == ("failed", "21211")
    await _make_due(live)
    assert await live.dispatcher.run_once() == 0
    assert fake_twilio.attempts == 1


async def test_twilio_saying_unsubscribed_opts_the_number_out(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    fake_twilio.unsubscribe("+447700900888")
    async with live.sessions() as db, db.begin():
        await enqueue(db, channel="sms", to="+447700900888", body="Hello", purpose="decision", now=datetime.now(UTC))
    await live.dispatcher.run_once()
    assert (await _one_outbound(live)).error_code == "21610"
    async with live.sessions() as db:
        assert (await db.execute(select(Contact.opted_out))).scalar_one() is True


async def test_status_callbacks_record_delivery_and_are_signature_checked(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    async with live.sessions() as db, db.begin():
        await enqueue(db, channel="sms", to=REFERRER, body="Hello", purpose="decision", now=datetime.now(UTC))
    await live.dispatcher.run_once()
    sid = fake_twilio.messages[0].sid
    assert fake_twilio.messages[0].status_callback == PUBLIC_BASE_URL + "/sms/status"
    response = await fake_twilio.asend_status(sid, "delivered", deliver_to=live.base_url)
    assert response.status_code == 204
    assert (await _one_outbound(live)).status == "delivered"
    # A late "sent" does not undo "delivered"; an unsigned callback changes nothing.
    await fake_twilio.asend_status(sid, "sent", deliver_to=live.base_url)
    forged = await live.http.post("/sms/status", data={"MessageSid": sid, "MessageStatus": "failed"})
    assert forged.status_code == 403
    assert (await _one_outbound(live)).status == "delivered"


async def test_undelivered_keeps_twilios_error_code(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    async with live.sessions() as db, db.begin():
        await enqueue(db, channel="sms", to=REFERRER, body="Hello", purpose="decision", now=datetime.now(UTC))
    await live.dispatcher.run_once()
    await fake_twilio.asend_status(fake_twilio.messages[0].sid, "undelivered", 30003, deliver_to=live.base_url)
    outbound = await _one_outbound(live)
    assert (outbound.status, outbound.error_code) == ("undelivered", "30003")


async def test_a_status_twilio_reports_that_is_not_one_of_ours_is_not_stored(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    async with live.sessions() as db, db.begin():
        await enqueue(db, channel="sms", to=REFERRER, body="Hello", purpose="decision", now=datetime.now(UTC))
    await live.dispatcher.run_once()
    async with live.sessions() as db, db.begin():
        # As a messaging service answers: "accepted" ranks below every report that may follow it.
        await db.execute(update(OutboundMessage).values(status=OutboundStatus.ACCEPTED))
    response = await fake_twilio.asend_status(fake_twilio.messages[0].sid, "read", deliver_to=live.base_url)
    assert response.status_code == 204
    assert (await _one_outbound(live)).status is OutboundStatus.ACCEPTED


async def test_outbound_text_is_made_plain_and_its_segments_counted(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    async with live.sessions() as db, db.begin():
        queued = await enqueue(db, channel="sms", to=REFERRER, body="It’s “fine” – see you", purpose="decision",
                               now=datetime.now(UTC))
    assert queued is not None and queued.segments == 1
    await live.dispatcher.run_once()
    assert fake_twilio.messages[0].body == "It's \"fine\" - see you"


async def test_whatsapp_senders_use_the_same_route_and_flow(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    status, replies = await text_in(live, fake_twilio, "hi", _sid(40), sender="whatsapp:+447700900321")
    assert status == 200 and "999" in replies[0]
    async with live.sessions() as db:
        assert (await db.execute(select(InboundMessage.channel))).scalar_one() == "whatsapp"


async def test_a_message_stored_but_never_processed_is_recovered_and_answered_by_rest(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from datetime import timedelta

    from bot.recovery import recover_pending
    from store.conversations import store_inbound

    # As if the process had been killed between storing the message and answering it.
    async with live.sessions() as db, db.begin():
        await store_inbound(db, channel="sms", provider_id=_sid(90), sender=REFERRER, body="hi",
                            received_at=datetime.now(UTC) - timedelta(minutes=5))
    assert await recover_pending(live.sessions, live.settings) == 1
    live.dispatcher.kick()
    await eventually(lambda: len(fake_twilio.messages) == 2)
    assert fake_twilio.messages[0].body.startswith("Referral line") and fake_twilio.messages[0].to == REFERRER
    assert fake_twilio.messages[1].body.startswith("What is the young person's date of birth?")
    # Twilio retrying the same message later changes nothing and answers the same.
    assert (await text_in(live, fake_twilio, "hi", _sid(90)))[1] == [m.body for m in fake_twilio.messages]
    assert await recover_pending(live.sessions, live.settings) == 0


async def test_status_tells_a_referrer_about_their_own_referral_only(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    texts = [t for t in WHOLE_REFERRAL if t != "07700 900123"]
    for n, text in enumerate(texts):
        _, replies = await text_in(live, fake_twilio, text, _sid(200 + n))
    reference = replies[0].split("Referral ", 1)[1].split(" ", 1)[0]
    _, mine = await text_in(live, fake_twilio, f"status {reference.lower()}", _sid(300))
    assert len(mine) == 1 and mine[0].startswith(f"Referral {reference} (received ")
    assert "waiting to be looked at" in mine[0] and segment_count(mine[0]) == 1
    _, theirs = await text_in(live, fake_twilio, f"STATUS {reference}", _sid(301), sender="+447700900555")
    _, unknown = await text_in(live, fake_twilio, "STATUS LGX-ZZZZZ", _sid(302), sender="+447700900555")
    assert theirs == [f"We can't find referral {reference} sent from here. Check the reference, or call the unit."]
    assert unknown[0].startswith("We can't find referral LGX-ZZZZZ")


async def test_new_referrals_and_safeguarding_alerts_are_announced_to_the_unit_without_personal_details(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any
) -> None:
    from channels_support import channel_settings, serve_live
    from support import LEAK_FORMS

    settings = channel_settings(database_url, fake_twilio, fake_telegram, unit_telegram_chat_id="-100123")
    async with serve_live(settings) as unit_live:
        texts = [t for t in WHOLE_REFERRAL if t != "07700 900123"]
        texts.insert(3, "he has a knife and is threatening to kill someone")
        for n, text in enumerate(texts):
            await text_in(unit_live, fake_twilio, text, _sid(400 + n))
        unit_live.dispatcher.kick()
        notices = await eventually(lambda: [m["text"] for m in fake_telegram.sent if str(m["chat_id"]) == "-100123"]
                                   if len([m for m in fake_telegram.sent if str(m["chat_id"]) == "-100123"]) == 2
                                   else None)
    assert notices[0].startswith("Safeguarding: a message in a referral chat")
    assert notices[1].startswith("New referral LGX-") and "SAFEGUARDING" in notices[1]
    assert not [form for form in LEAK_FORMS if any(form.lower() in n.lower() for n in notices)]
    assert "Lambeth" not in " ".join(notices)


async def test_a_text_the_database_cannot_take_is_answered_kindly_so_the_sender_sends_it_again(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from support import database_away

    async with database_away(live.app):
        status, replies = await text_in(live, fake_twilio, "hi", _sid(300))
        assert (status, replies) == (200, [NOT_SAVED])
        # Twilio has already acted on a STOP and answered it: nothing more from us.
        assert await text_in(live, fake_twilio, "STOP", _sid(301)) == (200, [])
    assert await _count(live, InboundMessage) == 0
    assert (await text_in(live, fake_twilio, "hi", _sid(300)))[1][0].startswith("Referral line")  # sent again: fine


async def test_a_text_stored_but_not_processed_gets_no_error_and_is_answered_once_the_database_recovers(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from datetime import timedelta

    from sqlalchemy import text

    from bot.recovery import recover_pending

    async with live.sessions() as db, db.begin():  # a real failure after the store: the table has gone
        await db.execute(text("ALTER TABLE conversations RENAME TO conversations_away"))
    try:
        assert await text_in(live, fake_twilio, "hi", _sid(310)) == (200, [])
        assert await _count(live, InboundMessage) == 1
    finally:
        async with live.sessions() as db, db.begin():
            await db.execute(text("ALTER TABLE conversations_away RENAME TO conversations"))
    later = datetime.now(UTC) + timedelta(minutes=2)  # past the grace given to a request still under way
    assert await recover_pending(live.sessions, live.settings, now=later) == 1
    live.dispatcher.kick()
    await eventually(lambda: len(fake_twilio.messages) == 2)
    assert fake_twilio.messages[0].body.startswith("Referral line") and fake_twilio.messages[0].to == REFERRER
