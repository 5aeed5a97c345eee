"""An admin's work in a real browser: a new account made and used, and the audit log narrowed with its filters."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, CHROMIUM, log_in
from channels_support import LiveApp
from playwright.async_api import Browser, expect
from staff_support import make_user

from store.audit import audit

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="chromium is not installed (.ci/run installs it)")


async def test_an_admin_makes_an_account_that_then_logs_in(browser: Browser, site: LiveApp) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await make_user(site.sessions, "ada@unit.example.org", "admin", "Ada Admin")
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await log_in(page, site, "ada@unit.example.org")
    await page.get_by_role("link", name="Users").click()
    await page.get_by_role("button", name="Add a staff account").click()
    await page.get_by_label("Work email address").fill("sam@unit.example.org")
    await page.get_by_role("button", name="Create account").click()
    # Nothing chosen for the role: said beside it, the email kept.
    await expect(page.locator("#role-error")).to_contain_text("Choose their role")
    await expect(page.get_by_label("Work email address")).to_have_value("sam@unit.example.org")
    await page.get_by_label("Name (optional)").fill("Sam Smith")
    await page.get_by_label("Caseworker").check()
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("Account created for sam@unit.example.org")
    password = (await page.locator("#one-time-password").text_content() or "").strip()
    assert len(password) >= 12
    await page.screenshot(path=str(ARTIFACTS / "user-created.png"), full_page=True)
    await page.get_by_role("button", name="Back to users").click()
    row = page.get_by_role("row").filter(has_text="sam@unit.example.org")
    await expect(row).to_contain_text("must change password")
    await expect(page.locator("body")).not_to_contain_text(password)

    sam = await browser.new_page(viewport={"width": 390, "height": 844})
    await sam.goto(site.base_url + "/staff/login")
    await sam.get_by_label("Email").fill("sam@unit.example.org")
    await sam.get_by_label("Password").fill(password)
    await sam.get_by_role("button", name="Log in").click()
    await expect(sam).to_have_url(site.base_url + "/staff/password")


async def test_an_admin_narrows_the_audit_log_with_its_filters_and_pages_through_it(
    browser: Browser, site: LiveApp
) -> None:
    await make_user(site.sessions, "ada@unit.example.org", "admin", "Ada Admin")
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)
    async with site.sessions() as db, db.begin():
        for n in range(70):
            await audit(db, "una@unit.example.org", "view", noon + timedelta(minutes=n), "LGX-AAAAA")
        await audit(db, "una@unit.example.org", "view", noon + timedelta(days=2), "LGX-BBBBB")
        await audit(db, "una@unit.example.org", "claim", noon, "LGX-AAAAA")
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await log_in(page, site, "ada@unit.example.org")
    await page.get_by_role("link", name="Audit log").click()
    await page.get_by_label("Staff member").select_option(label="Una Unit (una@unit.example.org)")
    await page.get_by_label("Action").select_option("view")
    date_from = page.get_by_role("group", name="Date from")
    await date_from.get_by_label("Day").fill("10")
    await date_from.get_by_label("Month").fill("3")
    await date_from.get_by_label("Year").fill("2026")
    date_to = page.get_by_role("group", name="Date to")
    await date_to.get_by_label("Day").fill("10")
    await date_to.get_by_label("Month").fill("3")
    await date_to.get_by_label("Year").fill("2026")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#audit-count")).to_contain_text("70 entries, newest first: page 1 of 2")
    await expect(page.locator("tbody tr")).to_have_count(50)
    await page.get_by_role("link", name="Next page").click()
    await expect(page.locator("#audit-count")).to_contain_text("page 2 of 2")
    await expect(page.locator("tbody tr")).to_have_count(20)
    await expect(page.locator("tbody")).not_to_contain_text("LGX-BBBBB")
    # The filters are still chosen on the second page.
    await expect(page.get_by_label("Action")).to_have_value("view")
    await expect(page.get_by_label("Staff member")).to_have_value("una@unit.example.org")
    await expect(date_to.get_by_label("Day")).to_have_value("10")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download these 70 entries as CSV").click()
    saved = await (await download.value).path()
    assert len(Path(saved).read_text().splitlines()) == 71
