"""Every staff page, in each state the unit's and a caseworker's day reaches, passes axe-core's WCAG 2.2 A/AA rules
at desktop and phone widths, reflows to 320px, and has one h1 and a skip link; screenshots are kept for a
person to look at.

axe-core is the copy vendored under tests/vendor (see assets/package.json), served to the page from its own origin
so the pages' Content-Security-Policy stays on while it runs.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, CHROMIUM, log_in, referral_by_sms, sms_from
from channels_support import LiveApp
from fakes.twilio_api import FakeTwilio
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import update
from staff_support import PASSWORD, code_at, current_step, make_user, next_code

from store.models import Referral, User

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_PATH = "/static/axe-for-tests.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = ((1366, 900), (390, 844))
PAGES = ARTIFACTS / "pages"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="chromium is not installed (.ci/run installs it)"),
    # The pages are the same whichever database is underneath (the page tests run on both), and this
    # walk is the suite's slowest test: once is enough.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


class Checks:
    """What each page showed: axe-core's violations and the layout checks, reported together at the end."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.summary: dict[str, Any] = {}

    async def page(self, page: Page, name: str) -> None:
        """Check the page as it is now (no reload, so a page that answered a form keeps its state)."""
        await expect(page.locator("body.govuk-frontend-supported")).to_have_count(1)
        for width, height in WIDTHS:
            await page.set_viewport_size({"width": width, "height": height})
            violations = await run_axe(page)
            self.summary[f"{name} at {width}px"] = violations
            self.problems += [f"{name} at {width}px: {v['id']} ({v['impact']}) on {v['nodes']}" for v in violations]
            await page.screenshot(path=str(PAGES / f"{name}-{width}.png"), full_page=True)
        await page.set_viewport_size({"width": 320, "height": 640})
        wide = await page.evaluate("document.documentElement.scrollWidth")
        if wide > 320:
            self.problems.append(f"{name} is {wide}px wide on a 320px screen")
        if (h1s := await page.locator("h1").count()) != 1:
            self.problems.append(f"{name} has {h1s} h1 elements")
        skip = page.locator("a.govuk-skip-link").first
        if await page.locator("a.govuk-skip-link").count() != 1 or await skip.get_attribute("href") != "#main-content" \
                or await page.locator("#main-content").count() != 1:
            self.problems.append(f"{name} has no skip link to #main-content")
        await page.set_viewport_size({"width": 1366, "height": 900})


async def run_axe(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(url=AXE_PATH)
    return await page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: "tag", values: tags}})).violations
             .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" "))}))""", WCAG_22_AA)


async def new_page(browser: Browser, errors: list[str]) -> Page:
    """A page that serves axe-core from the site's own origin and notes any script error or CSP refusal."""
    page = await browser.new_page(viewport={"width": 1366, "height": 900})

    async def serve_axe(route: Route) -> None:
        await route.fulfill(path=str(AXE), content_type="text/javascript")

    await page.route(f"**{AXE_PATH}", serve_axe)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    # A refused form answers 4xx on purpose, which the console also reports: only scripts' errors and CSP
    # refusals count.
    page.on("console", lambda message: message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and errors.append(f"{page.url}: {message.text}"))
    page.on("response", lambda response: response.status >= 400 and response.request.resource_type != "document"
            and not response.url.endswith("/favicon.ico") and errors.append(f"{response.url}: {response.status}"))
    return page


async def a_units_day(site: LiveApp, fake_twilio: FakeTwilio) -> tuple[str, str, str]:
    """Three staff and three referrals of one young person: one a week old, one fresh, one allocated to Cas.

    The walk is split in parts (the unit's and an admin's day, a caseworker's, the simulator) so that test
    processes can share it; each part starts from this same day.
    """
    from bot.actions import Actor, act
    from flows.process import Action, Role

    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    await make_user(site.sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    await make_user(site.sessions, "ada@unit.example.org", "admin", "Ada Admin")
    late = await referral_by_sms(site, fake_twilio, "+447700900111", "A")
    fresh = await referral_by_sms(site, fake_twilio, "+447700900222", "B")
    allocated = await referral_by_sms(site, fake_twilio, "+447700900123", "C")
    async with site.sessions() as db, db.begin():
        await db.execute(update(Referral).where(Referral.reference == late)
                         .values(created_at=datetime.now(UTC) - timedelta(days=8)))
        for action, extra in ((Action.CLAIM, {}), (Action.ACCEPT, {}),
                              (Action.ALLOCATE, {"caseworker": "cas@unit.example.org"})):
            await act(db, site.settings, allocated, action, Actor("cli", Role.ADMIN), datetime.now(UTC),
                      **extra)
    return late, fresh, allocated


def report(checks: Checks, errors: list[str], part: str) -> None:
    (ARTIFACTS / f"axe-{part}.json").write_text(json.dumps(checks.summary, indent=1))
    assert checks.problems == [], "\n".join(checks.problems)
    assert errors == [], "\n".join(errors)


async def test_every_staff_page_of_the_units_and_an_admins_day_passes_axe_reflows_and_has_one_h1_and_a_skip_link(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    PAGES.mkdir(parents=True, exist_ok=True)
    checks, errors = Checks(), []
    late, fresh, allocated = await a_units_day(site, fake_twilio)
    page = await new_page(browser, errors)
    await page.goto(site.base_url + "/staff/accessibility")
    await checks.page(page, "accessibility")
    await page.goto(site.base_url + "/staff/login")
    await checks.page(page, "login")
    await page.get_by_label("Email").fill("una@unit.example.org")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator(".govuk-error-summary")).to_contain_text("match an account")
    await expect(page.get_by_label("Email")).to_have_value("una@unit.example.org")
    await checks.page(page, "login-error")

    # The unit's day: the queue, a referral before and after claiming it, an action refused, one done.
    await log_in(page, site, "una@unit.example.org")
    await expect(page).to_have_url(site.base_url + "/staff/queue")
    await checks.page(page, "queue")
    await page.goto(f"{site.base_url}/staff/referrals/{late}")
    await checks.page(page, "referral-queued")
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text(f"Done: referral {late} claimed")
    await checks.page(page, "referral-claimed")
    await page.screenshot(path=str(PAGES / "referral-top-1366.png"))  # the first screenful, for the README
    # Over three SMS with the text around it: refused, saying the limit.
    too_long = ("Is the young person in education, training or work at the moment, and since when? " * 6).strip()
    await page.get_by_label("Question for the referrer").fill(too_long)
    await page.get_by_role("button", name="Ask for more information").click()
    # The error is in the summary, linked to the field, beside the field, and what was typed is kept.
    await expect(page.locator(".govuk-error-summary a[href='#question']")).to_contain_text("Your question is")
    await expect(page.locator("#question-error")).to_contain_text("it can be at most")
    await expect(page.get_by_label("Question for the referrer")).to_have_value(too_long)
    await expect(page).to_have_title(f"Error: Referral {late} - Referral unit")
    await checks.page(page, "referral-error")
    # Declining is confirmed on a page of its own first.
    await page.get_by_label("Reason (the referrer is told)").select_option("not_ready")
    await page.get_by_role("button", name="Decline").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Are you sure you want to decline")
    await checks.page(page, "confirm-decline")
    await page.get_by_role("link", name="Cancel, keep the referral as it is").click()
    # The referrer's answer to a question, beside it, marked new in the queue until opened.
    await page.get_by_label("Question for the referrer").fill("Is the young person in education at the moment?")
    await page.get_by_role("button", name="Ask for more information").click()
    await expect(page.locator(".status")).to_have_text("Awaiting info")
    await sms_from(site, fake_twilio, "Yes, at college two days a week", f"SMN{0:031d}", "+447700900111")
    await page.goto(f"{site.base_url}/staff/queue")
    await expect(page.get_by_role("row").filter(has_text=late)).to_contain_text("New information")
    await checks.page(page, "queue-new-info")
    await page.goto(f"{site.base_url}/staff/referrals/{late}")
    await expect(page.locator("#question-answer")).to_contain_text("Yes, at college two days a week")
    await checks.page(page, "referral-answered")
    await page.goto(f"{site.base_url}/staff/queue?status=all&sort=received&dir=desc")
    await checks.page(page, "queue-sorted")
    # The three referrals above are of one young person: the unit is told, and decides one pair each way.
    await page.goto(f"{site.base_url}/staff/referrals/{late}")
    await checks.page(page, "referral-possibly-same-person")
    await page.get_by_role("button", name=f"Same person as {fresh}").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("marked as the same young person")
    await page.get_by_role("button", name=f"Different person from {allocated}").click()
    await expect(page.locator(".app-same-person")).to_have_text(f"Same young person as {fresh}.")
    await checks.page(page, "referral-same-person")
    await page.goto(f"{site.base_url}/staff/referrals/{fresh}-NOT-THERE")
    await checks.page(page, "not-found")
    await page.goto(site.base_url + "/staff/stats")
    await checks.page(page, "stats")
    await sms_from(site, fake_twilio, "he has a knife and is threatening to kill someone", f"SMD{0:031d}",
                   "+447700900333")
    await page.goto(site.base_url + "/staff/alerts")
    await checks.page(page, "alerts")
    await page.get_by_role("button", name="Acknowledge alert").click()
    await expect(page.locator(".govuk-error-summary a[href^='#ack-note-']")).to_contain_text("note is required")
    await checks.page(page, "alerts-error")
    # An enquiry from a young person (ME): the queue's filter leads to the list, then one enquiry, replied, closed.
    for n, body in enumerate(["ME", "Sam", "Y", "Can someone call me back about my brother?"]):
        await sms_from(site, fake_twilio, body, f"SME{n:031d}", "+447700900444")
    await page.goto(site.base_url + "/staff/queue?status=enquiries")
    await expect(page).to_have_url(site.base_url + "/staff/enquiries")
    await checks.page(page, "enquiries")
    await page.get_by_role("link", name="ENQ-").click()
    await expect(page.locator(".enquiry-details")).to_contain_text("Can someone call me back about my brother?")
    await checks.page(page, "enquiry")
    await page.get_by_role("button", name="Mark as replied").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("marked as replied")
    await checks.page(page, "enquiry-replied")
    await page.get_by_role("button", name="Close enquiry").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Are you sure you want to close this enquiry?")
    await checks.page(page, "enquiry-close-confirm")
    await page.get_by_role("button", name="Yes, close enquiry").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("closed")
    await checks.page(page, "enquiry-closed")
    await page.goto(site.base_url + "/staff/password")
    await page.get_by_label("New password", exact=True).fill("short")
    await page.get_by_label("New password again").fill("short")
    await page.get_by_role("button", name="Save password").click()
    await expect(page.locator(".govuk-error-message")).to_contain_text("at least 12")
    await checks.page(page, "password-error")

    admin = await new_page(browser, errors)
    await log_in(admin, site, "ada@unit.example.org")
    # An admin takes over the unit member's referral; the unit member is told on their next page.
    await admin.goto(f"{site.base_url}/staff/referrals/{late}")
    await admin.get_by_role("button", name="Take over").click()
    await expect(admin.locator(".govuk-notification-banner")).to_contain_text("taken over")
    await checks.page(admin, "referral-taken-over")
    await page.goto(site.base_url + "/staff/queue")
    await expect(page.locator(".app-staff-notices")).to_contain_text(f"Ada Admin took over {late}")
    await checks.page(page, "queue-taken-over-notice")
    await admin.goto(site.base_url + "/staff/audit")
    await checks.page(admin, "audit")
    await admin.goto(site.base_url + "/staff/audit?from-day=31&from-month=2&from-year=2026&to-day=1&to-year=2026")
    await expect(admin.locator(".govuk-error-summary a[href='#to-day']")).to_contain_text("must include a month")
    await checks.page(admin, "audit-error")
    # The users page with an account locked (its Unlock button), then each of an admin's changes.
    async with site.sessions() as db, db.begin():
        await db.execute(update(User).where(User.email == "una@unit.example.org")
                         .values(locked_until=datetime.now(UTC) + timedelta(minutes=15)))
    await admin.goto(site.base_url + "/staff/users")
    await expect(admin.get_by_role("button", name="Unlock una@unit.example.org")).to_be_visible()
    await checks.page(admin, "users")
    await admin.get_by_role("button", name="Add a staff account").click()
    await checks.page(admin, "user-new")
    await admin.get_by_label("Work email address").fill("not an email")
    await admin.get_by_role("button", name="Create account").click()
    await expect(admin.locator(".govuk-error-summary a[href='#role-unit']")).to_contain_text("Choose their role")
    await checks.page(admin, "user-new-error")
    await admin.get_by_label("Work email address").fill("sam@unit.example.org")
    await admin.get_by_label("Caseworker").check()
    await admin.get_by_role("button", name="Create account").click()
    await expect(admin.locator("#one-time-password")).to_be_visible()
    await checks.page(admin, "user-created")
    await admin.get_by_role("button", name="Back to users").click()
    await admin.get_by_role("link", name="Disable sam@unit.example.org").click()
    await checks.page(admin, "user-disable-confirm")
    await admin.get_by_role("button", name="Disable account").click()
    await expect(admin.locator(".govuk-notification-banner")).to_contain_text("sam@unit.example.org disabled")
    await checks.page(admin, "users-done")
    await admin.get_by_role("link", name="Reset password for sam@unit.example.org").click()
    await checks.page(admin, "user-reset-confirm")
    await admin.get_by_role("button", name="Reset password").click()
    await expect(admin.locator("#one-time-password")).to_be_visible()
    await checks.page(admin, "user-password-reset")

    report(checks, errors, "unit-and-admin")


async def test_every_page_of_a_caseworkers_day_passes_axe_reflows_and_has_one_h1_and_a_skip_link(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    PAGES.mkdir(parents=True, exist_ok=True)
    checks, errors = Checks(), []
    _, _, allocated = await a_units_day(site, fake_twilio)
    # A caseworker's day: their young people, one of them with a session booked and an answer to it.
    cas = await new_page(browser, errors)
    await log_in(cas, site, "cas@unit.example.org")
    await expect(cas).to_have_url(site.base_url + "/staff/mine")
    await checks.page(cas, "mine")
    await cas.get_by_role("link", name=allocated).click()
    await checks.page(cas, "referral-allocated")
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    # The date input with its errors: beside the boxes and in the summary, what was typed kept.
    await cas.get_by_label("Day").fill("x")
    await cas.get_by_label("Month").fill(str(day.month))
    await cas.get_by_label("Year").fill(str(day.year))
    await cas.get_by_role("button", name="Book session").click()
    await expect(cas.locator(".govuk-error-summary a[href='#book-date-day']")).to_be_visible()
    await expect(cas.get_by_label("Day")).to_have_value("x")
    await checks.page(cas, "referral-session-date-error")
    await cas.get_by_label("Day").fill(str(day.day))
    await cas.get_by_label("Time (London)").fill("15:00")
    await cas.get_by_role("button", name="Book session").click()
    await cas.get_by_role("button", name="Send the first message").click()
    await site.dispatcher.run_once()
    await sms_from(site, fake_twilio, "sorry can't make it", "SMyp-a11y-0000000000000000000000", "+447700900456")
    await cas.reload()
    await expect(cas.locator("section.notices")).to_contain_text("sorry can't make it")
    await checks.page(cas, "referral-sessions")
    # Moving: the form with an error, then the confirmation; cancelling: the confirmation.
    await cas.locator("section.sessions").get_by_role("link", name="Move").click()
    await cas.get_by_label("Year").fill("")
    await cas.get_by_role("button", name="Continue").click()
    await expect(cas.locator("#move-date-error")).to_contain_text("must include a year")
    await checks.page(cas, "session-move-error")
    await cas.get_by_label("Year").fill(str(day.year))
    await cas.get_by_role("button", name="Continue").click()
    await expect(cas.locator(".app-texted")).to_be_visible()
    await checks.page(cas, "session-move-confirm")
    await cas.get_by_role("link", name="Don't move it").click()
    await cas.locator("section.sessions").get_by_role("link", name="Cancel").click()
    await expect(cas.locator("button.govuk-button--warning")).to_have_text("Cancel session")
    await checks.page(cas, "session-cancel-confirm")
    await cas.goto(site.base_url + "/staff/mine")
    await expect(cas.locator(".app-unread")).to_contain_text("1 new reply")
    await checks.page(cas, "mine-unread")
    await cas.goto(site.base_url + "/staff/queue")
    await checks.page(cas, "forbidden")

    report(checks, errors, "caseworker")


async def test_the_simulator_passes_axe_reflows_and_has_one_h1_and_a_skip_link(browser: Browser, site: LiveApp) -> None:
    PAGES.mkdir(parents=True, exist_ok=True)
    checks, errors = Checks(), []
    simulator = await new_page(browser, errors)
    await simulator.goto(site.base_url + "/simulator")
    await simulator.get_by_label("Message").fill("hi")
    await simulator.get_by_role("button", name="Send", exact=True).click()
    await expect(simulator.locator("#log")).to_contain_text("Not an emergency service")
    await checks.page(simulator, "simulator")

    report(checks, errors, "simulator")


async def test_a_new_member_sets_up_their_second_factor_and_logs_in_with_it_on_accessible_pages(
    browser: Browser, site: LiveApp
) -> None:
    """The first login in a browser (one-time password, own password, authenticator app, recovery codes), then
    a login with a code and with a recovery code, and an admin's reset: each page checked as the others are."""
    PAGES.mkdir(parents=True, exist_ok=True)
    checks, errors = Checks(), []
    one_time = await make_user(site.sessions, "nia@unit.example.org", "unit", "Nia New", password=None)
    await make_user(site.sessions, "ada@unit.example.org", "admin", "Ada Admin")
    page = await new_page(browser, errors)
    await page.goto(site.base_url + "/staff/login")
    await page.get_by_label("Email").fill("nia@unit.example.org")
    await page.get_by_label("Password").fill(one_time)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(site.base_url + "/staff/password")
    await page.get_by_label("Current password").fill(one_time)
    await page.get_by_label("New password", exact=True).fill(PASSWORD)
    await page.get_by_label("New password again").fill(PASSWORD)
    await page.get_by_role("button", name="Save password").click()

    await expect(page).to_have_url(site.base_url + "/staff/two-factor/setup")
    await expect(page.locator(".app-qr-code svg")).to_be_visible()
    await checks.page(page, "two-factor-setup")
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    code = page.get_by_label("3. Enter the code the app shows")
    await expect(code).to_have_attribute("autocomplete", "one-time-code")
    await expect(code).to_have_attribute("inputmode", "numeric")
    await code.fill("12345")
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_title("Error: Set up your authenticator app - Referral unit")
    await expect(page.locator(".govuk-error-summary a[href='#code']")).to_contain_text("code is not right")
    await checks.page(page, "two-factor-setup-error")
    await page.get_by_label("3. Enter the code the app shows").fill(code_at(current_step(), secret))
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = await page.locator(".app-recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    await checks.page(page, "recovery-codes")
    await page.get_by_role("button", name="I have saved my codes, continue").click()
    await expect(page).to_have_url(site.base_url + "/staff/queue")

    await page.get_by_role("button", name="Log out").click()
    await page.get_by_label("Email").fill("nia@unit.example.org")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(site.base_url + "/staff/two-factor")
    await checks.page(page, "two-factor")
    wrong = "000000" if code_at(current_step(), secret) != "000000" else "111111"
    await page.get_by_label("Enter the code from your authenticator app").fill(wrong)
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_title("Error: Enter the code from your authenticator app - Referral unit")
    await checks.page(page, "two-factor-error")
    await page.get_by_role("link", name="Use a recovery code instead").click()
    await checks.page(page, "two-factor-recovery")
    await page.get_by_label("Enter a recovery code").fill("wrong-codes")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#code-error")).to_contain_text("not right")
    await checks.page(page, "two-factor-recovery-error")
    await page.get_by_label("Enter a recovery code").fill(codes[0])
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(site.base_url + "/staff/queue")

    admin = await new_page(browser, errors)
    await log_in(admin, site, "ada@unit.example.org")
    await admin.goto(site.base_url + "/staff/users")
    row = admin.get_by_role("row").filter(has_text="nia@unit.example.org")
    await expect(row).to_contain_text("Set up")
    await row.get_by_role("button", name="Reset second factor").click()
    await checks.page(admin, "reset-second-factor")
    await admin.get_by_role("button", name="Yes, reset their second factor").click()
    await expect(admin.locator(".govuk-notification-banner")).to_contain_text("is reset")
    await checks.page(admin, "reset-second-factor-done")
    await page.reload()
    await expect(page).to_have_url(site.base_url + "/staff/login")

    assert checks.problems == [], "\n".join(checks.problems)
    assert errors == [], "\n".join(errors)


async def test_the_simulator_on_a_320px_phone_keeps_the_message_box_in_view_and_focus_in_it(
    browser: Browser, site: LiveApp
) -> None:
    errors: list[str] = []
    page = await new_page(browser, errors)
    await page.set_viewport_size({"width": 320, "height": 568})
    await page.goto(site.base_url + "/simulator")
    message = page.get_by_label("Message")
    for text, expected in (("hi", "Not an emergency service"), ("14/02/2006", "Which London borough"),
                           ("Lambeth", "gang"), ("Y 1 3", "motivation")):
        await message.fill(text)
        await message.press("Enter")
        await expect(page.locator("#log")).to_contain_text(expected)
    # A quick answer is a button; pressing it sends it, and the next answer can be typed at once.
    choice = page.locator("#choices button").first
    await expect(choice).to_be_visible()
    assert await run_axe(page) == []  # the quick answers too have names, and room to be pressed
    await choice.click()
    await expect(message).to_be_focused()
    await expect(message).to_be_in_viewport()
    PAGES.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(PAGES / "simulator-320.png"))
    assert await page.evaluate("document.documentElement.scrollWidth") <= 320
    # The conversation can be reached, and so scrolled, with the keyboard.
    await expect(page.get_by_role("log", name="Conversation")).to_have_attribute("tabindex", "0")
    await page.get_by_role("button", name="New chat").click()
    await expect(message).to_be_focused()
    assert errors == []


async def tab_to(page: Page, target: Any, limit: int = 80) -> None:
    """Press Tab until the target has the focus, as a keyboard user would; fail if it never gets it."""
    handle = await target.element_handle()
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(el) => document.activeElement === el", handle):
            return
    raise AssertionError(f"{target} was not reached with Tab")


async def test_the_unit_and_a_caseworker_do_their_day_with_the_keyboard_alone(
    browser: Browser, site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    await make_user(site.sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    reference = await referral_by_sms(site, fake_twilio, "+447700900123", "K")
    page = await browser.new_page(viewport={"width": 390, "height": 844})

    async def keyboard_log_in(email: str) -> None:
        await page.goto(site.base_url + "/staff/login")
        await tab_to(page, page.get_by_label("Email"))
        await page.keyboard.type(email)
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(site.base_url + "/staff/two-factor")
        code, _ = await next_code(email)  # each logs in once here: always the app's code
        await tab_to(page, page.get_by_label("Enter the code from your authenticator app"))
        await page.keyboard.type(code)
        await page.keyboard.press("Enter")

    async def press(name: str) -> None:
        await tab_to(page, page.get_by_role("button", name=name, exact=True))
        await page.keyboard.press("Enter")

    await keyboard_log_in("una@unit.example.org")
    await expect(page).to_have_url(site.base_url + "/staff/queue")
    await tab_to(page, page.get_by_role("link", name=reference))
    await page.keyboard.press("Enter")
    await press("Claim")
    await expect(page.locator(".status")).to_have_text("In review")
    await tab_to(page, page.get_by_label("Question for the referrer"))
    await page.keyboard.type("Is the young person in education at the moment?")
    await press("Ask for more information")
    await expect(page.locator(".status")).to_have_text("Awaiting info")
    await sms_from(site, fake_twilio, "Yes, at college", "SMkeyboard-answer-000000000000000", "+447700900123")
    await page.reload()
    await press("Accept")
    await expect(page.locator(".status")).to_have_text("Accepted")
    await tab_to(page, page.get_by_label("Caseworker"))
    await page.keyboard.press("Tab")  # the only caseworker is already chosen
    await page.keyboard.press("Enter")
    await expect(page.locator(".status")).to_have_text("Allocated")

    await page.context.clear_cookies()
    await keyboard_log_in("cas@unit.example.org")
    await tab_to(page, page.get_by_role("link", name=reference))
    await page.keyboard.press("Enter")
    day = datetime.now(UTC) + timedelta(days=3)
    # Day, month and year are plain text boxes, typed in that order whatever the browser's locale.
    await tab_to(page, page.get_by_label("Day"))
    await page.keyboard.type(str(day.day))
    await page.keyboard.press("Tab")
    await page.keyboard.type(str(day.month))
    await page.keyboard.press("Tab")
    await page.keyboard.type(str(day.year))
    # The browser's own time box takes keys in the order of its locale (see the accessibility
    # statement), so it is reached with Tab and then filled the way Playwright fills it.
    await tab_to(page, page.get_by_label("Time (London)"))
    await page.get_by_label("Time (London)").fill("15:00")
    await press("Book session")
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("session booked")
    await expect(page.locator("section.sessions")).to_contain_text("at 3pm")
