"""The referral unit's day in a real browser (Debian's chromium driven by Playwright) against the real app."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, CHROMIUM, REFERRER, log_in, referral_by_sms, sms_from
from channels_support import LiveApp, eventually
from fakes.twilio_api import FakeTwilio
from playwright.async_api import Browser, expect
from sqlalchemy import select, update
from staff_support import make_user

from store.models import Referral

# A developer without chromium may skip these; CI (which installs it) never does.
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="chromium is not installed (.ci/run installs it)")


async def test_the_unit_works_a_referral_from_arrival_to_allocation(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    await make_user(site.sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    reference = await referral_by_sms(site, fake_twilio, REFERRER, "A")
    page = await browser.new_page(viewport={"width": 1280, "height": 800})

    await log_in(page, site, "una@unit.example.org")
    await expect(page).to_have_url(site.base_url + "/staff/queue")
    row = page.get_by_role("row").filter(has_text=reference)
    await expect(row).to_contain_text("Queued")
    await expect(row).to_contain_text("Lambeth")
    await page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

    await row.get_by_role("link", name=reference).click()
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator(".status")).to_have_text("In review")

    await page.get_by_label("Question for the referrer").fill("Is the young person in education at the moment?")
    await page.get_by_role("button", name="Ask for more information").click()
    await expect(page.locator(".status")).to_have_text("Awaiting info")
    asked = await eventually(lambda: [m for m in fake_twilio.messages if "asks:" in m.body])
    assert asked[0].to == REFERRER and reference in asked[0].body

    answer = await sms_from(site, fake_twilio, "Yes, at college two days a week", "SMA-answer-0000000000000000000")
    assert answer == [f"Thank you, that is added to referral {reference}."]
    await page.reload()
    await expect(page.locator(".status")).to_have_text("In review")
    await expect(page.locator(".history")).to_contain_text("Yes, at college two days a week")

    await page.get_by_role("button", name="Accept").click()
    await expect(page.locator(".status")).to_have_text("Accepted")
    await page.get_by_label("Caseworker").select_option(label="Cas Worker")
    await page.get_by_role("button", name="Allocate").click()
    await expect(page.locator(".status")).to_have_text("Allocated")
    await expect(page.locator(".meta")).to_contain_text("Caseworker: Cas Worker")
    await page.screenshot(path=str(ARTIFACTS / "referral.png"), full_page=True)
    accepted = await eventually(lambda: [m for m in fake_twilio.messages if "is accepted" in m.body])
    assert accepted[0].to == REFERRER

    # The caseworker now sees the young person on their own page.
    other = await browser.new_page()
    await log_in(other, site, "cas@unit.example.org")
    await expect(other).to_have_url(site.base_url + "/staff/mine")
    await expect(other.get_by_role("row").filter(has_text=reference)).to_contain_text("Allocated")


async def test_a_declined_referral_tells_the_referrer_kindly(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    other_referrer = "+447700900777"
    reference = await referral_by_sms(site, fake_twilio, other_referrer, "B")
    page = await browser.new_page()
    await log_in(page, site, "una@unit.example.org")
    await page.goto(f"{site.base_url}/staff/referrals/{reference}")
    await page.get_by_role("button", name="Claim").click()
    await page.get_by_label("Reason (the referrer is told)").select_option("extensive_support")
    await page.get_by_role("button", name="Decline").click()
    await page.get_by_role("button", name=f"Yes, decline referral {reference}").click()
    await expect(page.locator(".status")).to_have_text("Declined")
    told = await eventually(lambda: fake_twilio.sent_to(other_referrer) and
                            [m for m in fake_twilio.sent_to(other_referrer) if "can't take" in m.body])
    assert told[0].body.startswith(f"Sorry, we can't take referral {reference}: they already get extensive support")
    # A declined referral cannot be accepted: the button is gone, and a forged post is refused.
    await expect(page.get_by_role("button", name="Accept")).to_have_count(0)


async def test_an_overdue_referral_is_marked_in_the_queue(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    late = await referral_by_sms(site, fake_twilio, "+447700900111", "C")
    fresh = await referral_by_sms(site, fake_twilio, "+447700900222", "D")
    async with site.sessions() as db, db.begin():
        await db.execute(update(Referral).where(Referral.reference == late)
                         .values(created_at=datetime.now(UTC) - timedelta(days=8)))
    page = await browser.new_page()
    await log_in(page, site, "una@unit.example.org")
    await expect(page.get_by_role("row").filter(has_text=late)).to_contain_text("OVERDUE")
    await expect(page.get_by_role("row").filter(has_text=fresh)).not_to_contain_text("OVERDUE")
    first_row = page.locator("table.queue tbody tr").first
    await expect(first_row).to_contain_text(late)  # what needs action comes first
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "queue-overdue.png"))
    await page.get_by_label("Flag").select_option("overdue")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("table.queue tbody tr")).to_have_count(1)


async def test_a_caseworker_books_a_session_and_sees_the_young_persons_answer(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from bot.actions import Actor, act
    from flows.process import Action, Role
    from store.models import OutboundMessage

    await make_user(site.sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    reference = await referral_by_sms(site, fake_twilio, REFERRER, "E")
    async with site.sessions() as db, db.begin():
        for action, extra in ((Action.CLAIM, {}), (Action.ACCEPT, {}),
                              (Action.ALLOCATE, {"caseworker": "cas@unit.example.org"})):
            await act(db, site.settings, reference, action, Actor("cli", Role.ADMIN), datetime.now(UTC), **extra)
    await sent_with(site, fake_twilio, "now has a caseworker")  # the referrer's texts, accepted then allocated
    fake_twilio.messages.clear()
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(page, site, "cas@unit.example.org")
    await page.get_by_role("link", name=reference).click()
    sessions = page.locator("section.sessions")
    await expect(sessions.locator(".app-before-first")).to_contain_text("reminders for sessions you book now")

    # Three boxes, read day first whatever the browser's locale; what is wrong is said beside the box and above.
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    await page.get_by_label("Day").fill("3rd")
    await page.get_by_label("Month").fill(str(day.month))
    await page.get_by_label("Year").fill(str(day.year))
    await page.get_by_label("Time (London)").fill("15:00")
    await page.get_by_label("or a new place label").fill("the library")
    await page.get_by_role("button", name="Book session").click()
    await expect(page.locator(".govuk-error-summary a[href='#book-date-day']")).to_have_text(
        "Enter the day of the session as a number")
    await expect(page.locator("#book-date-error")).to_contain_text("Enter the day of the session as a number")
    await expect(page.get_by_label("Day")).to_have_value("3rd")
    await expect(page.get_by_label("or a new place label")).to_have_value("the library")
    await page.get_by_label("Day").fill(str(day.day))
    await page.get_by_label("Year").fill(str(day.year - 1))
    await page.get_by_role("button", name="Book session").click()
    await expect(page.locator(".govuk-error-summary")).to_contain_text("The session must be in the future")
    await page.get_by_label("Year").fill(str(day.year))
    await page.get_by_role("button", name="Book session").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("session booked")
    await expect(sessions).to_contain_text(f"{day:%A} {day.day} {day:%B %Y} at 3pm")
    await expect(sessions).to_contain_text("none yet: they start once the first message is sent")
    assert fake_twilio.messages == []

    await page.get_by_role("button", name="Send the first message").click()
    await expect(sessions).to_contain_text("the day before at 6pm: waiting to send")
    await expect(sessions).to_contain_text("2 hours before: waiting to send")
    await sent_with(site, fake_twilio, "save it")
    # The day-before reminder's time comes: it goes for real, through the dispatcher, to the stand-in Twilio.
    async with site.sessions() as db, db.begin():
        await db.execute(update(OutboundMessage).where(OutboundMessage.planned_for == "1d@18:00")
                         .values(next_attempt_at=datetime.now(UTC)))
    await sent_with(site, fake_twilio, "See you")

    await sms_from(site, fake_twilio, "sorry can't make it", "SMyp-browser-n-0000000000000000", "+447700900456")
    await page.reload()
    timeline = page.locator("section.notices")
    await expect(timeline).to_contain_text("sorry can't make it")
    await expect(timeline.locator(".app-timeline__item--out").first).to_contain_text("First message")
    await expect(timeline).to_contain_text("Reminder, the day before at 6pm")
    await expect(timeline.locator(".app-timeline__item--in")).to_contain_text("Can't come")
    await expect(timeline.locator(".app-timeline__item--in")).to_contain_text("New")
    # What the bot answered at once is there too, after the reply, though it went back in the webhook's response.
    answer = timeline.locator(".app-timeline__item--out").filter(has_text="Our answer to that reply")
    await expect(answer).to_contain_text("will be in touch to find another time")
    await expect(sessions).to_contain_text("Can't come")
    await expect(sessions).to_contain_text("2 hours before: not sent: no longer needed")
    await expect(sessions).not_to_contain_text("waiting")  # no "see you" after they said they can't come
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "caseworker.png"), full_page=True)
    # The unit's stats now count this reminded session and its answer.
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    stats = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(stats, site, "una@unit.example.org")
    await stats.goto(site.base_url + "/staff/stats")
    await expect(stats.locator("#reminders")).to_contain_text("Can't come (N)")
    await stats.screenshot(path=str(ARTIFACTS / "stats.png"), full_page=True)

    # My young people: the name, the next session in words, and the unread reply.
    await page.goto(site.base_url + "/staff/mine")
    row = page.get_by_role("row").filter(has_text=reference)
    await expect(row).to_contain_text("Jaylen")
    await expect(row).to_contain_text(f"{day:%A} {day.day} {day:%B %Y} at 3pm")
    await expect(row.locator(".app-unread")).to_contain_text("1 new reply")
    await page.get_by_role("link", name=reference).click()
    # Seen: the marker goes, the reply stays.
    await page.get_by_role("button", name="Mark as seen").click()
    await expect(timeline).to_contain_text("sorry can't make it")
    await expect(timeline.locator(".app-timeline__item--in")).not_to_contain_text("New")
    await page.goto(site.base_url + "/staff/mine")
    await expect(page.get_by_role("row").filter(has_text=reference)).to_contain_text("No new replies")
    await page.get_by_role("link", name=reference).click()

    # Moving asks first, says they will be texted (they had the reminder), and changes nothing until confirmed.
    moved = day + timedelta(days=1)
    await sessions.get_by_role("link", name="Move").click()
    await expect(page.get_by_label("Day")).to_have_value(str(day.day))
    await page.get_by_label("Day").fill(str(moved.day))
    await page.get_by_label("Month").fill(str(moved.month))
    await page.get_by_label("Year").fill("27")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#move-date-error")).to_contain_text("4 numbers")
    await expect(page.get_by_label("Day")).to_have_value(str(moved.day))
    await page.get_by_label("Year").fill(str(moved.year))
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator(".app-texted")).to_contain_text("will get a text with the new time")
    before = len(fake_twilio.messages)
    async with site.sessions() as db:
        pending = await db.scalar(select(OutboundMessage.id).where(OutboundMessage.purpose == "session_moved"))
    assert pending is None  # nothing yet
    await page.get_by_role("button", name="Move session").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("session moved")
    assert f"{moved.day} " in (await sent_with(site, fake_twilio, "Change of plan")).body
    assert len(fake_twilio.messages) == before + 1

    # Cancelling asks first, with a warning button.
    await sessions.get_by_role("link", name="Cancel").click()
    await expect(page.locator(".app-texted")).to_contain_text("will get a text saying the session is off")
    await page.get_by_role("link", name="Keep the session").click()
    await expect(sessions).not_to_contain_text("Cancelled")
    await sessions.get_by_role("link", name="Cancel").click()
    await page.locator("button.govuk-button--warning").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("session cancelled")
    await sent_with(site, fake_twilio, "not meeting")


async def sent_with(site: LiveApp, twilio: FakeTwilio, words: str) -> Any:
    """The text holding these words, once sent: by this test's turn of the dispatcher or the app's own loop."""
    for _ in range(200):
        await site.dispatcher.run_once()
        if found := [m for m in twilio.messages if words in m.body]:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no text with {words!r} was sent")


async def test_the_simulator_page_chats_in_a_real_browser(browser: Browser, site: LiveApp) -> None:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(site.base_url + "/simulator")
    await page.get_by_placeholder("Type a message").fill("hi")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator("#log")).to_contain_text("Not an emergency service")
    await page.get_by_placeholder("Type a message").fill("14/02/2006")
    await page.keyboard.press("Enter")
    await expect(page.locator("#log")).to_contain_text("Which London borough")
    await page.get_by_label("a young person, mobile").check()
    await expect(page.locator("#log")).to_be_empty()
    assert errors == []
