"""Telegram through python-telegram-bot: the webhook (or polling), buttons, and sending with retries."""

from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import (
    Bot,
    BotCommand,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.core import Inbound, NotStored, handle
from bot.delivery import Accepted, Failed, Result, Retry
from bot.dispatcher import Dispatcher
from bot.runtime import RuntimeDep
from bot.settings import Settings
from flows.channels import Channel
from flows.statuses import OutboundStatus
from store.outbox import Claimed

__all__ = ["COMMANDS", "WEBHOOK_PATH", "NotAnUpdate", "TelegramChannel", "TelegramSender", "read_update", "router"]

log = logging.getLogger("referral_bot.telegram")

router = APIRouter()
WEBHOOK_PATH = "/telegram/webhook"
NOT_CONFIGURED = "Telegram is not configured on this server: set TELEGRAM_BOT_TOKEN."
SHARE_PHONE = "Share my number"
COMMANDS = (
    BotCommand("start", "Start a referral, or see the current question"),
    BotCommand("help", "What to do, and how to reach a person"),
    BotCommand("back", "Go back to the previous question"),
    BotCommand("summary", "See your answers so far"),
    BotCommand("form", "All the questions as one form to fill in"),
    BotCommand("restart", "Discard this referral and start again"),
    BotCommand("me", "Young person or family: ask us something"),
    BotCommand("forget", "Delete your details kept for your next referral"),
)
POLL_TIMEOUT_SECONDS = 25
NOT_STORED_PAUSE_SECONDS = 2
CHAT_ID_LIMIT = 2**63  # Telegram's ids are signed 64-bit integers


def keyboard(markup: dict[str, Any] | None) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """Buttons for the choices (typing works the same); a button to share one's number when asked for it."""
    if not markup:
        return ReplyKeyboardRemove()
    rows: list[list[KeyboardButton]] = []
    if markup.get("share_phone"):
        rows.append([KeyboardButton(SHARE_PHONE, request_contact=True)])
    choices = [KeyboardButton(str(choice)) for choice in markup.get("choices") or []]
    if choices:
        rows.append(choices)
    if not rows:
        return ReplyKeyboardRemove()
    return ReplyKeyboardMarkup(rows, one_time_keyboard=True, resize_keyboard=True)


def text_of(update: Update) -> tuple[int, str] | None:
    """The chat and the text a referrer means, whatever they pressed or shared; None for updates we ignore."""
    message = update.message or update.edited_message
    if update.callback_query is not None and update.callback_query.message is not None:
        return update.callback_query.message.chat.id, update.callback_query.data or ""
    if message is None:
        return None
    if message.contact is not None:
        # A shared contact answers whichever number question is open: the referrer's own, or the young person's.
        number = message.contact.phone_number
        return message.chat.id, number if number.startswith("+") else f"+{number}"
    text = message.text or ""
    if text.startswith("/"):
        command, _, rest = text.partition(" ")
        text = command.split("@", 1)[0] + (f" {rest}" if rest else "")
    return message.chat.id, text


class NotAnUpdate(ValueError):
    """What was posted as an update is not one the bot can read: answered 400, never stored."""


def read_update(data: object, bot: Bot) -> tuple[Update, tuple[int, str] | None]:
    """The update in `data` and the chat and text it carries (None for updates we ignore), or NotAnUpdate.

    The body is untrusted until read: a field of the wrong type must be refused here, not trip up the
    library, the store or the sender later (a chat id that is not a number could never be answered).
    """
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise NotAnUpdate("no update_id")
    try:
        update = Update.de_json(data, bot)
        found = text_of(update)
    except Exception as exc:  # whatever the library trips over in such a body, it is not an update we can read
        raise NotAnUpdate(type(exc).__name__) from exc
    if found is not None:
        chat_id, text = found
        if type(chat_id) is not int or abs(chat_id) >= CHAT_ID_LIMIT or not isinstance(text, str):
            raise NotAnUpdate("a chat id or text of the wrong type")
    return update, found


class TelegramSender:
    """The bot itself: started and stopped with the process, set up with Telegram, and the outbox's sender."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bot = Bot(settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base_url)

    async def start(self) -> None:
        await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def configure(self) -> None:
        """Register the commands, and the webhook (or remove it, for polling)."""
        await self.bot.set_my_commands(list(COMMANDS))
        if self.settings.telegram_mode == "webhook":
            await self.bot.set_webhook(
                url=self.settings.public_base_url + WEBHOOK_PATH,
                secret_token=self.settings.telegram_webhook_secret.get_secret_value(),
                allowed_updates=["message", "edited_message", "callback_query"],
            )
        else:
            await self.bot.delete_webhook()
        log.info("telegram configured mode=%s", self.settings.telegram_mode)

    async def send(self, message: Claimed) -> Result:
        try:
            sent = await self.bot.send_message(chat_id=int(message.to), text=message.body,
                                               reply_markup=keyboard(message.markup))
        except RetryAfter as exc:
            with warnings.catch_warnings():
                # PTB 22 warns that retry_after becomes a timedelta; accept either.
                warnings.simplefilter("ignore")
                wait = exc.retry_after
            after = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            log.warning("telegram rate limited outbox=%s retry_after=%s", message.id, after)
            return Retry("429", float(after))
        except Forbidden:
            log.warning("telegram chat blocked the bot outbox=%s", message.id)
            return Failed("403", blocked=True)
        except BadRequest as exc:
            return Failed(f"400 {type(exc).__name__}")
        except (TimedOut, NetworkError) as exc:
            log.warning("telegram send retryable outbox=%s error=%s", message.id, type(exc).__name__)
            return Retry(type(exc).__name__)
        except TelegramError as exc:
            return Failed(type(exc).__name__)
        return Accepted(str(sent.message_id), OutboundStatus.SENT)


class TelegramChannel:
    """Updates in (by webhook or polling), through the core, and the replies sent straight away.

    Apart from the sender because the dispatcher needs the sender before this can be given the dispatcher.
    """

    def __init__(self, sender: TelegramSender, sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher,
                 settings: Settings) -> None:
        self.sender = sender
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.settings = settings

    async def inbound(self, data: dict[str, Any]) -> None:
        """Handle one update: through the core, replies into the outbox, sent straight away (NotAnUpdate if bad)."""
        update, found = read_update(data, self.sender.bot)
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError:
                log.warning("could not answer a callback query")
        if found is None:
            return
        chat_id, text = found
        inbound = Inbound(channel=Channel.TELEGRAM, sender=str(chat_id), message_id=str(update.update_id),
                          text=text, received_at=datetime.now(UTC))
        handled = await handle(inbound, self.sessions, self.settings, via_outbox=True)
        await self.dispatcher.send_now(handled.outbox_ids)

    async def poll_forever(self) -> None:
        """Polling mode: long-poll getUpdates and handle each update once, in order."""
        offset: int | None = None
        while True:
            try:
                updates = await self.sender.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT_SECONDS,
                    allowed_updates=["message", "edited_message", "callback_query"])
            except (TimedOut, NetworkError) as exc:
                log.warning("telegram polling error=%s", type(exc).__name__)
                await asyncio.sleep(2)
                continue
            for update in updates:
                try:
                    await self.inbound(update.to_dict())
                except NotAnUpdate as exc:
                    log.warning("telegram update unreadable update=%s error=%s", update.update_id, exc)
                except NotStored as exc:
                    # Not acknowledged, so Telegram keeps it: asked for again once the database is back.
                    log.error("telegram update not stored update=%s error=%s", update.update_id, exc)
                    await asyncio.sleep(NOT_STORED_PAUSE_SECONDS)
                    break
                except Exception:
                    log.exception("telegram update failed update=%s", update.update_id)
                offset = update.update_id + 1


@router.post(WEBHOOK_PATH)
async def telegram_webhook(request: Request, runtime: RuntimeDep) -> Response:
    """Telegram's webhook: checked against our secret token, then handled like any message."""
    settings = runtime.settings
    channel = runtime.telegram
    if channel is None:
        return PlainTextResponse(NOT_CONFIGURED, status_code=503)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    expected = settings.telegram_webhook_secret.get_secret_value()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("rejected telegram webhook without the right secret")
        return PlainTextResponse("Forbidden", status_code=403)
    try:
        data = await request.json()
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deeper than the parser goes
        return PlainTextResponse("Bad JSON", status_code=400)
    try:
        await channel.inbound(data)
    except NotAnUpdate as exc:
        log.warning("rejected a telegram update the bot cannot read error=%s", exc)
        return PlainTextResponse("Not an update", status_code=400)
    except NotStored as exc:
        # Answered here, not left to the app's last-resort handler, which logs a traceback and drops the
        # connection; Telegram sends the update again after a 503, and it is stored then.
        log.error("telegram update not stored error=%s", exc)
        return PlainTextResponse("Not stored, send again", status_code=503, headers={"Retry-After": "2"})
    except Exception as exc:
        # Stored but not processed (the database went away in between): processed when Telegram sends it again.
        log.error("telegram update stored, not yet processed error=%s", type(exc).__name__)
        return PlainTextResponse("Not processed, send again", status_code=503, headers={"Retry-After": "2"})
    return JSONResponse({})
