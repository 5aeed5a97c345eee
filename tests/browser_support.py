"""What the browser tests share: where chromium is, and how a test texts in a referral and logs in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from channels_support import TWILIO_NUMBER, LiveApp
from fakes.twilio_api import FakeTwilio, signed_inbound
from playwright.async_api import Page, expect
from staff_support import PASSWORD, next_code
from support import WHOLE_REFERRAL

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
REFERRER = "+447700900123"
# Chromium's own background traffic has nowhere to go on these machines: switch it off.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


async def sms_from(site: LiveApp, twilio: FakeTwilio, body: str, sid: str, sender: str = REFERRER) -> list[str]:
    params, headers = signed_inbound(site.base_url + "/sms/inbound", twilio.auth_token, From=sender, To=TWILIO_NUMBER,
                                     Body=body, MessageSid=sid)
    response = await site.http.post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


async def referral_by_sms(site: LiveApp, twilio: FakeTwilio, sender: str, tag: str) -> str:
    replies: list[str] = []
    for n, text in enumerate(t for t in WHOLE_REFERRAL if t != "07700 900123"):
        replies = await sms_from(site, twilio, text, f"SM{tag}{n:030d}", sender)
    return replies[0].split("Referral ", 1)[1].split(" ", 1)[0]


async def log_in(page: Page, site: LiveApp, email: str) -> None:
    """Log in with the password, then the code from the authenticator app (see staff_support.next_code)."""
    await page.goto(site.base_url + "/staff")
    await expect(page).to_have_url(site.base_url + "/staff/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(site.base_url + "/staff/two-factor")
    code, recovery = await next_code(email)
    if recovery:
        await page.get_by_role("link", name="Use a recovery code instead").click()
        await page.get_by_label("Enter a recovery code").fill(code)
    else:
        await page.get_by_label("Enter the code from your authenticator app").fill(code)
    await page.get_by_role("button", name="Continue").click()
