"""The queue and a referral's actions in a real browser: a decline confirmed first, sorting by a column, and
taking over a colleague's referral (who is told on their next page)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_support import CHROMIUM, log_in, referral_by_sms
from channels_support import LiveApp, eventually
from fakes.twilio_api import FakeTwilio
from playwright.async_api import Browser, expect
from staff_support import make_user

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="chromium is not installed (.ci/run installs it)")


async def test_a_decline_waits_for_the_confirmation_and_going_back_keeps_the_reason(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    referrer = "+447700900555"
    reference = await referral_by_sms(site, fake_twilio, referrer, "E")
    page = await browser.new_page()
    await log_in(page, site, "una@unit.example.org")
    await page.goto(f"{site.base_url}/staff/referrals/{reference}")
    await page.get_by_role("button", name="Claim").click()
    reason = "he already works with the borough gangs team"
    await page.get_by_label("Reason (the referrer is told)").select_option("other")
    await page.get_by_label("Other reason").fill(reason)
    await page.get_by_role("button", name="Decline").click()

    await expect(page.get_by_role("heading", level=1)).to_contain_text("Are you sure you want to decline")
    await expect(page.locator(".app-confirm__told")).to_contain_text(f"Sorry, we can't take referral {reference}: "
                                                                     f"{reason}.")
    await page.get_by_role("button", name="Change the reason").click()
    await expect(page.get_by_label("Other reason")).to_have_value(reason)
    await expect(page.locator(".status")).to_have_text("In review")  # nothing has changed
    assert not [m for m in fake_twilio.sent_to(referrer) if "can't take" in m.body]

    await page.get_by_role("button", name="Decline").click()
    await page.get_by_role("button", name=f"Yes, decline referral {reference}").click()
    await expect(page.locator(".status")).to_have_text("Declined")
    told = await eventually(lambda: [m for m in fake_twilio.sent_to(referrer) if "can't take" in m.body])
    assert reason in told[0].body


async def test_the_queue_sorts_by_a_column_header_and_back(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    first = await referral_by_sms(site, fake_twilio, "+447700900601", "F")
    second = await referral_by_sms(site, fake_twilio, "+447700900602", "G")
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    await log_in(page, site, "una@unit.example.org")
    received = page.get_by_role("columnheader", name="Received")
    await expect(received).to_have_attribute("aria-sort", "none")
    await received.get_by_role("link").click()
    await expect(received).to_have_attribute("aria-sort", "ascending")
    rows = page.locator("table.queue tbody tr")
    await expect(rows.first).to_contain_text(first)
    await received.get_by_role("link").click()
    await expect(received).to_have_attribute("aria-sort", "descending")
    await expect(rows.first).to_contain_text(second)
    # On a phone the rows are stacked summaries, sorted with the "Sort by" list.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.get_by_label("Sort by").select_option("received")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows.first).to_contain_text(first)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390


async def test_a_unit_member_takes_over_and_the_colleague_sees_it_on_their_next_page(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "sam@unit.example.org", "unit", "Sam Smith")
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    reference = await referral_by_sms(site, fake_twilio, "+447700900700", "H")
    una = await browser.new_page()
    await log_in(una, site, "una@unit.example.org")
    await una.goto(f"{site.base_url}/staff/referrals/{reference}")
    await una.get_by_role("button", name="Claim").click()
    await expect(una.locator(".meta")).to_contain_text("Reviewer: Una Unit.")

    sam = await (await browser.new_context()).new_page()
    await log_in(sam, site, "sam@unit.example.org")
    await sam.goto(f"{site.base_url}/staff/referrals/{reference}")
    await sam.get_by_role("button", name="Take over").click()
    await expect(sam.locator(".govuk-notification-banner")).to_contain_text(f"referral {reference} taken over")
    await expect(sam.locator(".meta")).to_contain_text("Reviewer: Sam Smith.")

    await una.goto(site.base_url + "/staff/queue")
    await expect(una.locator(".app-staff-notices")).to_contain_text(f"Sam Smith took over {reference}")
    await expect(una.get_by_role("row").filter(has_text=reference)).to_contain_text("Sam Smith")
    await una.reload()
    await expect(una.locator(".app-staff-notices")).to_have_count(0)
