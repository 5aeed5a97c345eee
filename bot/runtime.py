"""The background work a process runs: senders for each configured channel, the dispatcher, recovery."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import Sender
from bot.dispatcher import Dispatcher
from bot.email_sender import EmailSender
from bot.settings import Settings
from bot.sms_sender import SmsSender
from flows.channels import Channel
from store.db import make_engine, make_sessionmaker

__all__ = ["provider_senders", "run_worker"]


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
    from bot.telegram import TelegramChannel
    from bot.web import maintain_forever

    engine = make_engine(settings.database_url)
    sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
    senders = provider_senders(settings)
    telegram = None
    if settings.telegram_enabled:
        telegram = TelegramChannel(settings)
        await telegram.start()
        senders[Channel.TELEGRAM] = telegram
    dispatcher = Dispatcher(sessions, senders, settings.outbox_poll_seconds,
                            stale_after=timedelta(seconds=settings.outbox_stale_seconds))
    try:
        await asyncio.gather(dispatcher.run_forever(), maintain_forever(sessions, settings, dispatcher))
    finally:
        if telegram is not None:
            await telegram.stop()
        await engine.dispose()
