"""What a running process holds: the app's typed runtime, senders for each channel, the worker loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from bot.delivery import Sender
from bot.dispatcher import Dispatcher
from bot.email_sender import EmailSender
from bot.limits import SlidingWindow
from bot.settings import Settings
from bot.sms_sender import SmsSender
from bot.staff.security import CookieSigner, LoginThrottle
from flows.channels import Channel
from store.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    # Only for the annotation: bot.telegram's webhook route itself depends on this module.
    from bot.telegram import TelegramChannel

__all__ = ["Runtime", "RuntimeDep", "get_runtime", "provider_senders", "run_worker", "runtime_of"]


@dataclass(frozen=True)
class Runtime:
    """Everything the web app's routes use, made once in its lifespan and kept as `app.state.runtime`.

    One typed object instead of loose `app.state` attributes, so a type checker knows every field
    and a misspelt one fails at once instead of at the first request that reads it.
    """

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    dispatcher: Dispatcher
    telegram: TelegramChannel | None
    cookie_signer: CookieSigner
    login_throttle: LoginThrottle
    simulator_limit: SlidingWindow = field(default_factory=SlidingWindow)  # simulator messages per client address


def runtime_of(app: Starlette) -> Runtime:
    """The app's runtime; it exists only while the app's lifespan runs."""
    runtime = getattr(app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("the app has not started: its lifespan makes the runtime (serve it, or enter "
                           "app.router.lifespan_context(app) in a test)")
    return runtime


def get_runtime(request: Request) -> Runtime:
    return runtime_of(request.app)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def provider_senders(settings: Settings) -> dict[Channel, Sender]:
    """Senders for the configured channels that need nothing started: SMS (and WhatsApp) and email."""
    senders: dict[Channel, Sender] = {}
    if settings.sms_enabled:
        sms = SmsSender(settings)
        senders |= {Channel.SMS: sms, Channel.WHATSAPP: sms}
    if settings.email_enabled:
        senders[Channel.EMAIL] = EmailSender(settings)
    return senders


async def run_worker(settings: Settings) -> None:
    """A dispatcher on its own (`referral-bot worker`), for deployments with separate workers."""
    from bot.telegram import TelegramSender
    from bot.web import maintain_forever

    engine = make_engine(settings.database_url)
    sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
    senders = provider_senders(settings)
    telegram = None
    if settings.telegram_enabled:
        telegram = TelegramSender(settings)
        await telegram.start()
        senders[Channel.TELEGRAM] = telegram
    dispatcher = Dispatcher(sessions, senders, settings.outbox_poll_seconds,
                            stale_after=timedelta(seconds=settings.outbox_stale_seconds),
                            concurrency=settings.sms_concurrency)
    try:
        await asyncio.gather(dispatcher.run_forever(), maintain_forever(sessions, settings, dispatcher))
    finally:
        if telegram is not None:
            await telegram.stop()
        await engine.dispose()
