"""Notices to staff by email, through the real smtplib against a stand-in mail server on loopback."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from channels_support import (
    MAIL_FROM,
    PUBLIC_BASE_URL,
    TWILIO_NUMBER,
    UNIT_INBOX,
    LiveApp,
    email_settings,
    eventually,
    serve_live,
)
from fakes.smtp_server import FakeSmtp
from fakes.twilio_api import FakeTwilio, signed_inbound
from sqlalchemy import select, update
from support import LEAK_FORMS, WHOLE_REFERRAL

from store.models import OutboundMessage
from store.outbox import enqueue


@pytest.fixture
async def mail_live(database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any,
                    fake_smtp: FakeSmtp) -> AsyncIterator[LiveApp]:
    async with serve_live(email_settings(database_url, fake_twilio, fake_telegram, fake_smtp)) as live:
        yield live


async def _text_in(live: LiveApp, twilio: FakeTwilio, body: str, sid: str) -> list[str]:
    params, headers = signed_inbound(PUBLIC_BASE_URL + "/sms/inbound", twilio.auth_token, From="+447700900123",
                                     To=TWILIO_NUMBER, Body=body, MessageSid=sid)
    response = await live.http.post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 200
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


async def _outbound(live: LiveApp) -> list[OutboundMessage]:
    async with live.sessions() as db:
        return list((await db.execute(select(OutboundMessage).where(OutboundMessage.channel == "email")
                                      .order_by(OutboundMessage.id))).scalars())


async def test_the_unit_inbox_hears_of_new_referrals_and_alerts_with_the_reference_only(
    mail_live: LiveApp, fake_twilio: FakeTwilio, fake_smtp: FakeSmtp
) -> None:
    texts = [t for t in WHOLE_REFERRAL if t != "07700 900123"]
    texts.insert(3, "he has a knife and is threatening to kill someone")
    replies: list[str] = []
    for n, text in enumerate(texts):
        replies = await _text_in(mail_live, fake_twilio, text, f"SM{n:032x}")
    reference = replies[0].split("Referral ", 1)[1].split(" ", 1)[0]
    mail_live.dispatcher.kick()
    await eventually(lambda: len(fake_smtp.received) == 2)
    alert, new = fake_smtp.received
    assert {alert.mail_from, new.mail_from} == {MAIL_FROM} and alert.rcpt_to == new.rcpt_to == [UNIT_INBOX]
    assert alert.message["Subject"].startswith("[referral-bot] Safeguarding: a message in a referral chat")
    assert new.message["Subject"] == f"[referral-bot] New referral {reference} (SAFEGUARDING)"
    assert new.message["To"] == UNIT_INBOX and new.message["Message-ID"]
    everything = " ".join(str(r.message) for r in fake_smtp.received)
    assert not [form for form in LEAK_FORMS if form.lower() in everything.lower()]
    assert "Lambeth" not in everything
    for _ in range(100):  # the server has both; the dispatcher records each a moment later
        rows = await _outbound(mail_live)
        if all(r.status == "sent" for r in rows):
            break
        await asyncio.sleep(0.05)
    assert [(r.status, r.provider_id) for r in rows] == [("sent", str(r.message["Message-ID"]))
                                                         for r in fake_smtp.received]


async def test_a_mail_server_saying_try_later_is_retried_and_a_refusal_is_recorded(
    mail_live: LiveApp, fake_smtp: FakeSmtp
) -> None:
    fake_smtp.refuse_next("DATA", "451 4.3.0 Try again later")
    async with mail_live.sessions() as db, db.begin():
        await enqueue(db, channel="email", to=UNIT_INBOX, body="New referral LGX-ABCDE. See the staff queue.",
                      purpose="unit_notice", now=datetime.now(UTC))
    await mail_live.dispatcher.run_once()
    [row] = await _outbound(mail_live)
    assert (row.status, row.error_code, row.attempts) == ("pending", "smtp_451", 1)
    assert row.next_attempt_at > datetime.now(UTC)

    fake_smtp.refuse_next("RCPT", "550 5.1.1 No such user")
    async with mail_live.sessions() as db, db.begin():
        await db.execute(update(OutboundMessage).values(next_attempt_at=datetime.now(UTC)))
    await mail_live.dispatcher.run_once()
    [row] = await _outbound(mail_live)
    assert (row.status, row.error_code) == ("failed", "smtp_550")  # final: not tried again
    async with mail_live.sessions() as db, db.begin():
        await db.execute(update(OutboundMessage).values(next_attempt_at=datetime.now(UTC)))
    assert await mail_live.dispatcher.run_once() == 0
    assert fake_smtp.received == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_wrong_mail_credentials_fail_the_notice_clearly(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any, fake_smtp: FakeSmtp
) -> None:
    settings = email_settings(database_url, fake_twilio, fake_telegram, fake_smtp, smtp_password="wrong")
    async with serve_live(settings) as live:
        async with live.sessions() as db, db.begin():
            await enqueue(db, channel="email", to=UNIT_INBOX, body="New referral LGX-ABCDE. See the staff queue.",
                          purpose="unit_notice", now=datetime.now(UTC))
        await live.dispatcher.run_once()
        [row] = await _outbound(live)
    assert (row.status, row.error_code) == ("failed", "smtp_535")
    assert fake_smtp.received == []


async def test_without_a_mail_server_nothing_is_queued_for_email(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    texts = [t for t in WHOLE_REFERRAL if t != "07700 900123"]
    for n, text in enumerate(texts):
        await _text_in(live, fake_twilio, text, f"SM{n:032x}")
    assert await _outbound(live) == []
