"""FORM over SMS, end to end: signed Twilio webhooks in, the template out, the filled form read, queued."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from channels_support import PUBLIC_BASE_URL, TWILIO_NUMBER, LiveApp
from fakes.twilio_api import FakeTwilio, signed_inbound
from sqlalchemy import select
from support import PERSONAL, REFERRAL_ANSWERS

from flows.form import HEADER
from flows.text import segment_count
from store.models import Conversation, InboundMessage, Referral

REFERRER = "+447700900123"
INBOUND_URL = PUBLIC_BASE_URL + "/sms/inbound"


async def _text(live: LiveApp, twilio: FakeTwilio, body: str, n: int) -> list[str]:
    params, signed = signed_inbound(INBOUND_URL, twilio.auth_token, From=REFERRER, To=TWILIO_NUMBER, Body=body,
                                    MessageSid=f"SM{n:032x}")
    response = await live.http.post("/sms/inbound", data=params, headers=signed)
    assert response.status_code == 200
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def _fill(template: str, answers: dict[str, str], **changed: str) -> str:
    """What a referrer's phone sends back: the template copied, an answer typed after each colon."""
    by_label = {
        "DOB": answers["dob"], "London borough": "Lambeth", "In a gang": "Y 1 3",
        "Motivated and willing to work with us": "Y", "Extensive support, or help available locally": "N",
        "Your name": PERSONAL["referrer_name"], "Your job title, organisation": "Youth worker, Lambeth YOT",
        "Your work email": PERSONAL["referrer_email"], "Relationship to them": "their youth worker",
        "Their full name": f"{PERSONAL['yp_first_name']} {PERSONAL['yp_last_name']}",
        "Gender": "male", "First language": "English",
        "Knows and agrees to referral and contact": "Y", "Past": "1", "Needs": "1 4 7 8",
        "Agencies involved": "1 3", "Urgency": "2",
    } | changed
    lines = []
    for line in template.splitlines():
        label = line.split("(")[0].rstrip(":").strip()
        lines.append(f"{line} {by_label[label]}" if label in by_label else line)
    return "\n".join(lines)


async def test_the_form_path_over_sms_is_three_texts_and_queues_the_referral(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    sent = ["FORM"]
    replies = await _text(live, fake_twilio, "FORM", 1)
    template = replies[-1]
    assert template.startswith(HEADER) and "Your phone" not in template  # the sender's number is known
    assert segment_count(template) > 3  # the one long text, because it was asked for
    form = _fill(template, REFERRAL_ANSWERS)
    assert len(form) <= 1600  # what Twilio joins into one webhook
    sent.append(form)
    replies = await _text(live, fake_twilio, form, 2)
    assert replies[-1].startswith("Check, then YES to send"), replies
    sent.append("YES")
    replies = await _text(live, fake_twilio, "YES", 3)
    assert replies[0].startswith("Thank you. Referral ")
    assert len(sent) <= 6
    async with live.sessions() as db:
        referral = (await db.execute(select(Referral))).scalar_one()
    assert referral.status == "queued" and referral.channel == "sms"
    assert referral.details["referrer_phone"] == REFERRER
    assert referral.details["needs"] == ["gang activity", "housing", "education/training/work", "mental health"]
    assert referral.details["yp_contact"] is None  # left blank: none, as SKIP
    assert referral.details["yp_name"]["known_as"] is None  # none written: none


async def test_a_form_screened_out_over_sms_keeps_nothing_of_what_it_said(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    template = (await _text(live, fake_twilio, "FORM", 1))[-1]
    form = _fill(template, REFERRAL_ANSWERS, **{"Motivated and willing to work with us": "N"})
    replies = await _text(live, fake_twilio, form, 2)
    assert replies == ["Sorry, we can't take this one yet: they need some motivation to leave, and to be willing "
                       "to work with us. Please refer again when they are ready."]
    async with live.sessions() as db:
        bodies = (await db.execute(select(InboundMessage.body))).scalars().all()
        conversation = (await db.execute(select(Conversation))).scalar_one()
    assert len(bodies) == 2 and all(body is None for body in bodies)  # the template's request and the form
    assert conversation.state == "screened_out" and not (conversation.draft or {}).get("answers")
    assert await _count_referrals(live) == 0


async def _count_referrals(live: LiveApp) -> int:
    async with live.sessions() as db:
        return len((await db.execute(select(Referral))).scalars().all())
