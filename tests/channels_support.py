"""Channel tests' helpers: the real app served on loopback, settings pointing at the stand-in providers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support import TEST_KEY

from bot.dispatcher import Dispatcher
from bot.runtime import runtime_of
from bot.settings import Settings, load_settings
from bot.web import create_app

# --- channels: the real app on a loopback port, the stand-in providers beside it ----------------

PUBLIC_BASE_URL = "https://bot.example.org"  # what the providers call; the app itself listens on loopback
TELEGRAM_SECRET = "test-secret_token-123"
TWILIO_NUMBER = "+447700900000"


def channel_settings(database_url: str, twilio: Any, telegram: Any, **overrides: Any) -> Settings:
    """Settings for the stand-ins; the outbox loop polls rarely so tests drive the dispatcher themselves."""
    values: dict[str, Any] = {
        "database_url": database_url, "data_key": TEST_KEY, "public_base_url": PUBLIC_BASE_URL,
        "twilio_account_sid": twilio.account_sid, "twilio_auth_token": twilio.auth_token,
        "twilio_from_number": TWILIO_NUMBER, "twilio_api_base_url": twilio.base_url,
        "telegram_bot_token": telegram.token, "telegram_webhook_secret": TELEGRAM_SECRET,
        "telegram_api_base_url": f"{telegram.base_url}/bot", "outbox_poll_seconds": 60,
    }
    return load_settings(**(values | overrides))


UNIT_INBOX = "unit@unit.example.org"
MAIL_FROM = "referral-bot@unit.example.org"


def email_settings(database_url: str, twilio: Any, telegram: Any, smtp: Any, **overrides: Any) -> Settings:
    """The stand-ins' settings plus a mail server (the stand-in SMTP) and the unit's inbox."""
    from fakes.smtp_server import PASSWORD, USERNAME

    values = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none", "smtp_username": USERNAME,
              "smtp_password": PASSWORD, "smtp_from": MAIL_FROM, "unit_email": UNIT_INBOX}
    return channel_settings(database_url, twilio, telegram, **(values | overrides))


class LiveApp:
    """The app served by uvicorn on 127.0.0.1, with its state (sessions, dispatcher) at hand."""

    def __init__(self, app: Any, base_url: str) -> None:
        self.app = app
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=15)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return runtime_of(self.app).sessions

    @property
    def dispatcher(self) -> Dispatcher:
        return runtime_of(self.app).dispatcher

    @property
    def settings(self) -> Settings:
        return runtime_of(self.app).settings


@contextlib.asynccontextmanager
async def serve_live(settings: Settings, port: int | None = None) -> AsyncIterator[LiveApp]:
    import uvicorn
    from support import free_port

    port = port or free_port()
    app = create_app(settings)
    # A connection a test left open (a browser page outliving the server) must not hold up the shutdown.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    live = LiveApp(app, f"http://127.0.0.1:{port}")
    try:
        yield live
    finally:
        await live.http.aclose()
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=60)
        except TimeoutError:
            raise AssertionError("the app did not stop within 60 s: something in its shutdown hangs") from None


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    """Wait for `check()` to be truthy (work done by background tasks), failing after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for background work")
        await asyncio.sleep(0.05)
