"""Texts staff write to a referrer go whole (up to 3 SMS) or are refused with the limit, from the page and the CLI."""

from __future__ import annotations

import asyncio
import html
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import CHROMIUM, log_in, referral_by_sms
from channels_support import LiveApp, eventually
from fakes.twilio_api import FakeTwilio
from hypothesis import given
from hypothesis import strategies as st
from playwright.async_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import csrf_of, login, make_user
from support import WHOLE_REFERRAL, chat, run_cli

from flows.notices import (
    DECLINE_REASONS,
    REFERRER_SEGMENTS,
    declined_text,
    info_request_text,
    question_room,
    reason_room,
)
from flows.process import Refused
from flows.text import gsm_safe, segment_count, sms_length
from store.models import OutboundMessage

CONTACT = "the referral unit on 020 7946 0000"  # the default UNIT_CONTACT
# From a real day: 97 characters, which used to arrive cut.
QUESTION = ("Is he still at Northumberland Park School and does he have an EHCP? Who is his social worker now?")
# 150 characters, which used to arrive cut at 60.
REASON = ("he is already working with the Haringey Gangs Team under a youth rehabilitation order and they "
          "have asked that no other service starts work until June")
def _declined(reference: str) -> str:
    return f"Sorry, we can't take referral {reference}: {REASON}. To talk: {CONTACT}"


TOO_LONG = "Could you tell us more about his school, his family and any services he sees at the moment? " * 5


def test_the_texts_from_the_issue_are_the_lengths_it_gives() -> None:
    assert (len(QUESTION), len(REASON)) == (97, 150)


# A listed reason's key (such as "extensive_support") stands for its own words, not itself: not staff words.
@given(st.text(max_size=600).filter(lambda words: words not in DECLINE_REASONS),
       st.sampled_from(["LGX-AB2CD", "ABCDEFGH-XXXXXXXXXX"]))
def test_words_within_the_room_fit_three_segments_and_one_more_does_not(words: str, reference: str) -> None:
    for compose, room in ((lambda w: info_request_text(reference, w), question_room(reference)),
                          (lambda w: declined_text(reference, w, CONTACT), reason_room(reference, CONTACT))):
        text = compose(words)
        assert gsm_safe(words) in text  # never cut
        assert (segment_count(text) <= REFERRER_SEGMENTS) == (sms_length(gsm_safe(words)) <= room)
        assert segment_count(compose("x" * room)) == REFERRER_SEGMENTS
        assert segment_count(compose("x" * (room + 1))) == REFERRER_SEGMENTS + 1


def test_an_over_long_question_is_refused_naming_the_limit() -> None:
    from flows.notices import checked_words

    room = question_room("LGX-AB2CD")
    with pytest.raises(Refused) as caught:
        checked_words("question", "q" * (room + 22), room)
    assert str(caught.value) == (f"Your question is {room + 22} characters; it can be at most {room} "
                                 "so the text fits 3 SMS.")
    with pytest.raises(Refused, match="count as two"):
        checked_words("question", "[" * room, room)


async def _inbox(client: httpx.AsyncClient, session: str, count: int = 1) -> list[str]:
    for _ in range(100):  # the app's dispatcher delivers within its poll interval
        messages = (await client.get("/simulator/inbox", params={"session": session})).json()["messages"]
        if len(messages) >= count:
            return [str(m["text"]) for m in messages]
        await asyncio.sleep(0.05)
    return [str(m["text"]) for m in messages]


async def _claimed(client: httpx.AsyncClient, session: str) -> tuple[str, str]:
    """A referral from the simulator, claimed by the logged-in unit member; its reference and the page's CSRF."""
    replies = await chat(client, session, WHOLE_REFERRAL)
    reference = replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
    page = await client.get(f"/staff/referrals/{reference}")
    csrf = csrf_of(page.text)
    claimed = await client.post(f"/staff/referrals/{reference}/actions", data={"action": "claim", "csrf": csrf})
    assert claimed.status_code == 303
    return reference, csrf


async def _decisions(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as db:
        return int(await db.scalar(select(func.count()).where(OutboundMessage.purpose == "decision")) or 0)


async def test_a_97_character_question_reaches_the_referrer_whole(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    await login(client, "una@unit.example.org")
    reference, csrf = await _claimed(client, "ask")
    page = await client.get(f"/staff/referrals/{reference}")
    room = question_room(reference)
    assert f'data-maxlength="{room}"' in page.text and 'data-module="govuk-character-count"' in page.text
    asked = await client.post(f"/staff/referrals/{reference}/actions",
                              data={"action": "request_info", "question": QUESTION, "csrf": csrf})
    assert asked.status_code == 303
    assert await _inbox(client, "ask") == [f"About referral {reference}, the referral unit asks: {QUESTION} "
                                           "Please reply here."]


async def test_a_150_character_decline_reason_reaches_the_referrer_whole(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    await login(client, "una@unit.example.org")
    reference, csrf = await _claimed(client, "decline")
    page = await client.get(f"/staff/referrals/{reference}")
    assert f'data-maxlength="{reason_room(reference, CONTACT)}"' in page.text
    assert 'maxlength="60"' not in page.text
    declined = await client.post(f"/staff/referrals/{reference}/actions",
                                 data={"action": "decline", "reason": "other", "other_reason": REASON, "csrf": csrf,
                                       "step": "confirm"})
    assert declined.status_code == 303
    assert await _inbox(client, "decline") == [_declined(reference)]


async def test_an_over_long_question_or_reason_is_refused_with_the_limit_and_nothing_is_sent(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    await login(client, "una@unit.example.org")
    reference, csrf = await _claimed(client, "long")
    sent = TOO_LONG.strip()
    asked = await client.post(f"/staff/referrals/{reference}/actions",
                              data={"action": "request_info", "question": sent, "csrf": csrf})
    assert asked.status_code == 409
    text = html.unescape(asked.text)
    assert (f"Your question is {len(sent)} characters; it can be at most {question_room(reference)} "
            "so the text fits 3 SMS.") in text
    assert f">{sent}</textarea>" in text  # what was typed is kept
    declined = await client.post(f"/staff/referrals/{reference}/actions",
                                 data={"action": "decline", "reason": "other", "other_reason": sent, "csrf": csrf})
    assert declined.status_code == 409
    assert (f"Your reason is {len(sent)} characters; it can be at most {reason_room(reference, CONTACT)} "
            "so the text fits 3 SMS.") in html.unescape(declined.text)
    assert "In review" in declined.text
    assert await _decisions(sessions) == 0


async def test_the_preview_shows_the_exact_text_and_its_segments_and_sends_nothing_until_send(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    await login(client, "una@unit.example.org")
    reference, csrf = await _claimed(client, "preview")
    # Typographic quotes and a line break, as pasted from a document: the preview shows them as sent.
    typed = "Is he at \u201cNorthumberland Park\u201d?\nWho is his social worker? " + "More detail please. " * 8
    shown = await client.post(f"/staff/referrals/{reference}/actions",
                              data={"action": "request_info", "question": typed, "step": "preview", "csrf": csrf})
    assert shown.status_code == 200
    exact = info_request_text(reference, typed)
    assert '"Northumberland Park"?' in exact and "\n" not in exact
    page = html.unescape(shown.text)
    assert f'<p class="govuk-body app-preview__text">{exact}</p>' in page
    assert f"{len(exact)} characters, {segment_count(exact)} SMS" in page and segment_count(exact) == 2
    assert f">{typed}</textarea>" in page  # the form keeps what was typed, to change it
    assert await _decisions(sessions) == 0
    send = await client.post(f"/staff/referrals/{reference}/actions",
                             data={"action": "request_info", "question": typed, "csrf": csrf})
    assert send.status_code == 303
    assert await _inbox(client, "preview") == [exact]


async def test_a_preview_of_an_over_long_reason_is_refused_with_the_limit(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    await login(client, "una@unit.example.org")
    reference, csrf = await _claimed(client, "preview-long")
    shown = await client.post(f"/staff/referrals/{reference}/actions",
                              data={"action": "decline", "reason": "other", "other_reason": TOO_LONG, "step": "preview",
                                    "csrf": csrf})
    assert shown.status_code == 409
    assert f"it can be at most {reason_room(reference, CONTACT)} so the text fits 3 SMS" in shown.text
    assert "app-preview__text" not in shown.text


async def test_the_cli_sends_long_texts_whole_and_refuses_over_long_ones_saying_the_limit(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    replies = await chat(client, "cli", WHOLE_REFERRAL)
    reference = replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
    assert (await run_cli(env_for_cli, "referrals", "claim", reference)).returncode == 0
    sent = TOO_LONG.strip()
    refused = await run_cli(env_for_cli, "referrals", "ask", reference, "--question", sent)
    assert refused.returncode == 1
    assert (f"Your question is {len(sent)} characters; it can be at most {question_room(reference)} "
            "so the text fits 3 SMS.") in refused.stderr
    refused = await run_cli(env_for_cli, "referrals", "decline", reference, "--reason", sent)
    assert refused.returncode == 1 and f"it can be at most {reason_room(reference, CONTACT)}" in refused.stderr
    assert await _decisions(sessions) == 0
    asked = await run_cli(env_for_cli, "referrals", "ask", reference, "--question", QUESTION)
    assert asked.returncode == 0, asked.stderr
    assert (await _inbox(client, "cli"))[-1] == f"About referral {reference}, the referral unit asks: {QUESTION} " \
                                                "Please reply here."
    declined = await run_cli(env_for_cli, "referrals", "decline", reference, "--reason", REASON)
    assert declined.returncode == 0, declined.stderr
    assert (await _inbox(client, "cli", 2))[-1] == _declined(reference)


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                    reason="chromium is not installed (.ci/run installs it)")
async def test_in_the_browser_the_unit_previews_a_question_then_sends_it_whole(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    referrer = "+447700900555"
    reference = await referral_by_sms(site, fake_twilio, referrer, "T")
    page = await browser.new_page()
    await log_in(page, site, "una@unit.example.org")
    await page.goto(f"{site.base_url}/staff/referrals/{reference}")
    await page.get_by_role("button", name="Claim").click()
    room = question_room(reference)
    await page.get_by_label("Question for the referrer").fill(QUESTION)
    # The GOV.UK character count counts down from the room the server computed.
    await expect(page.locator(".govuk-character-count__status").first).to_contain_text(
        f"{room - len(QUESTION)} characters remaining")
    form = page.locator("form.action").filter(has=page.get_by_label("Question for the referrer"))
    await form.get_by_role("button", name="Preview").click()
    exact = info_request_text(reference, QUESTION)
    await expect(page.locator(".app-preview__text")).to_have_text(exact)
    await expect(page.locator(".app-preview__size")).to_have_text(f"{len(exact)} characters, 2 SMS")
    await expect(page.get_by_label("Question for the referrer")).to_have_value(QUESTION)
    assert not [m for m in fake_twilio.sent_to(referrer) if "asks:" in m.body]
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator(".status")).to_have_text("Awaiting info")
    asked = await eventually(lambda: [m for m in fake_twilio.sent_to(referrer) if "asks:" in m.body])
    assert [m.body for m in asked] == [exact]
