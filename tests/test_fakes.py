"""The stand-in Twilio and Telegram servers behave as the real client libraries expect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import requests
from fakes.telegram_api import FakeTelegram, callback_update, contact_update, text_update
from fakes.twilio_api import FakeTwilio, Reply, Request, StandInServer, bad_signature_headers, signed_inbound
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from bot.twilio_http import make_twilio_client

APP_NUMBER = "+447700900000"
PHONE = "+447700900123"
CALLBACK = "https://bot.example.org/twilio/status?channel=sms"


class Receiver(StandInServer):
    """Plays the app: catches whatever is POSTed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[Request] = []

    def handle(self, request: Request) -> Reply:
        """Record the request and say 200."""
        with self._lock:
            self.hits.append(request)
        return Reply(200, {})

    def form(self, index: int = -1) -> dict[str, str]:
        """The form body of a caught request."""
        return dict(parse_qsl(self.hits[index].body.decode(), keep_blank_values=True))


@pytest.fixture
def tw() -> Iterator[FakeTwilio]:
    """A running fake Twilio."""
    with FakeTwilio() as fake:
        yield fake
    assert not fake.errors


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver for status callbacks."""
    with Receiver() as server:
        yield server


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    """A running fake Telegram."""
    with FakeTelegram() as fake:
        yield fake
    assert not fake.errors


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """A real PTB bot, initialised (getMe) against the fake."""
    async with Bot(tg.token, base_url=f"{tg.base_url}/bot") as real_bot:
        yield real_bot


def _client(tw: FakeTwilio, **kwargs: Any) -> Any:
    """The project's twilio client pointed at the fake."""
    return make_twilio_client(tw.account_sid, tw.auth_token, tw.base_url, **kwargs)


def _send(tw: FakeTwilio, to: str = PHONE, body: str = "Hello") -> Any:
    """Create one message through the real client."""
    return _client(tw).messages.create(to=to, from_=APP_NUMBER, body=body, status_callback=CALLBACK)


# --- Twilio --------------------------------------------------------------------------------------


def test_twilio_create_returns_a_sid_and_is_recorded(tw: FakeTwilio) -> None:
    message = _send(tw)
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_, message.body) == ("queued", PHONE, APP_NUMBER, "Hello")
    assert message.num_segments == "1" and message.account_sid == tw.account_sid
    assert message.date_created is not None
    [sent] = tw.messages
    assert (sent.sid, sent.to, sent.from_, sent.body) == (message.sid, PHONE, APP_NUMBER, "Hello")
    assert (sent.status_callback, sent.status, sent.messaging_service_sid) == (CALLBACK, "queued", None)
    assert tw.attempts == 1
    assert _client(tw).messages(message.sid).fetch().body == "Hello"


def test_twilio_counts_segments_and_accepts_a_messaging_service(tw: FakeTwilio) -> None:
    client = _client(tw)
    service = "MG" + "1" * 32
    long_gsm = client.messages.create(to=PHONE, messaging_service_sid=service, body="a" * 161)
    assert (long_gsm.num_segments, long_gsm.status, long_gsm.messaging_service_sid) == ("2", "accepted", service)
    assert client.messages.create(to=PHONE, from_=APP_NUMBER, body="é" * 160).num_segments == "1"
    assert client.messages.create(to=PHONE, from_=APP_NUMBER, body="ś" * 71).num_segments == "2"
    assert tw.messages[0].from_ is None


def test_twilio_fail_next_gives_429_then_recovers(tw: FakeTwilio) -> None:
    tw.fail_next(429, 20429)
    with pytest.raises(TwilioRestException) as caught:
        _send(tw)
    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert "Too Many Requests" in caught.value.msg
    assert _send(tw).sid
    assert (tw.attempts, len(tw.messages)) == (2, 1)


@pytest.mark.parametrize(("status", "code"), [(400, 21610), (400, 21211), (500, None), (503, None)])
def test_twilio_fail_next_gives_twilio_errors(tw: FakeTwilio, status: int, code: int | None) -> None:
    tw.fail_next(status, code, times=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            _send(tw)
        assert caught.value.status == status
        assert caught.value.code == (code or {500: 20500, 503: 20503}[status])
    assert _send(tw).sid and tw.attempts == 3


def test_twilio_unsubscribed_numbers_are_refused_for_good(tw: FakeTwilio) -> None:
    tw.unsubscribe(PHONE)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            _send(tw)
        assert (caught.value.status, caught.value.code) == (400, 21610)
    assert _send(tw, to="+447700900999").sid
    assert [m.to for m in tw.messages] == ["+447700900999"]


def test_twilio_wrong_token_is_401(tw: FakeTwilio) -> None:
    client = make_twilio_client(tw.account_sid, "0" * 32, tw.base_url)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PHONE, from_=APP_NUMBER, body="Hello")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert (tw.attempts, tw.messages) == (1, [])


def test_twilio_refuses_incomplete_messages(tw: FakeTwilio) -> None:
    with pytest.raises(TwilioRestException) as caught:
        _client(tw).messages.create(to="", from_=APP_NUMBER, body="Hello")
    assert (caught.value.status, caught.value.code) == (400, 21604)
    url = f"{tw.base_url}/2010-04-01/Accounts/{tw.account_sid}/Messages.json"
    reply = httpx.post(url, data={"To": PHONE, "From": APP_NUMBER}, auth=(tw.account_sid, tw.auth_token))
    assert reply.status_code == 400
    assert reply.json() == {
        "code": 21602,
        "message": "Message body is required.",
        "more_info": "https://www.twilio.com/docs/errors/21602",
        "status": 400,
    }
    assert tw.messages == [] and tw.attempts == 2


def test_twilio_stall_makes_the_client_time_out(tw: FakeTwilio) -> None:
    tw.stall_next(2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        _client(tw, timeout=0.3).messages.create(to=PHONE, from_=APP_NUMBER, body="Hello")
    assert time.monotonic() - started < 1.5
    assert _send(tw).sid


def test_twilio_status_callback_is_signed_over_the_public_url(tw: FakeTwilio, receiver: Receiver) -> None:
    sid = _send(tw).sid
    reply = tw.send_status(sid, "undelivered", 30003, deliver_to=receiver.base_url)
    assert reply.status_code == 200
    [hit] = receiver.hits
    assert (hit.method, hit.path, hit.query) == ("POST", "/twilio/status", "channel=sms")
    form = receiver.form()
    assert form["MessageSid"] == form["SmsSid"] == sid
    assert form["MessageStatus"] == form["SmsStatus"] == "undelivered"
    assert (form["ErrorCode"], form["To"], form["From"], form["AccountSid"]) == (
        "30003",
        PHONE,
        APP_NUMBER,
        tw.account_sid,
    )
    signature = hit.headers["X-Twilio-Signature"]
    assert RequestValidator(tw.auth_token).validate(CALLBACK, form, signature)
    assert not RequestValidator("x" * 32).validate(CALLBACK, form, signature)
    assert not RequestValidator(tw.auth_token).validate(
        receiver.base_url + "/twilio/status?channel=sms", form, signature
    )
    assert (tw.message(sid).status, tw.message(sid).error_code) == ("undelivered", 30003)


def test_twilio_status_callback_never_leaves_loopback(tw: FakeTwilio) -> None:
    sid = _send(tw).sid
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        tw.send_status(sid, "delivered")


async def test_twilio_status_callback_from_async_code(tw: FakeTwilio, receiver: Receiver) -> None:
    sid = (await asyncio.to_thread(_send, tw)).sid
    reply = await tw.asend_status(sid, "delivered", deliver_to=receiver.base_url)
    assert reply.status_code == 200
    form = receiver.form()
    assert "ErrorCode" not in form and form["MessageStatus"] == "delivered"
    assert RequestValidator(tw.auth_token).validate(CALLBACK, form, receiver.hits[0].headers["X-Twilio-Signature"])


def test_signed_inbound_validates_and_tampering_does_not() -> None:
    url = "https://bot.example.org/twilio/sms"
    token = "t" * 32
    form, headers = signed_inbound(url, token, From=PHONE, To=APP_NUMBER, Body="hi", NumMedia="0", City="LONDON")
    assert form["MessageSid"].startswith("SM") and form["SmsSid"] == form["MessageSid"]
    assert (form["NumMedia"], form["NumSegments"], form["ApiVersion"], form["City"]) == (
        "0",
        "1",
        "2010-04-01",
        "LONDON",
    )
    validator = RequestValidator(token)
    assert validator.validate(url, form, headers["X-Twilio-Signature"])
    assert not validator.validate(url, form | {"Body": "hello"}, headers["X-Twilio-Signature"])
    assert not validator.validate(url, form, bad_signature_headers()["X-Twilio-Signature"])
    given, _ = signed_inbound(url, token, From=PHONE, To=APP_NUMBER, Body="x", MessageSid="SM" + "0" * 32)
    assert given["MessageSid"] == "SM" + "0" * 32


# --- Telegram ------------------------------------------------------------------------------------


async def test_telegram_get_me(bot: Bot, tg: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username, me.can_join_groups) == (123456, True, "referral_test_bot", True)
    assert bot.username == "referral_test_bot"
    assert [name for name, _ in tg.calls] == ["getMe", "getMe"]  # initialize() called it first


async def test_telegram_wrong_token_is_refused(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=f"{tg.base_url}/bot"):
            pass
    assert tg.calls == []
    reply = httpx.post(f"{tg.base_url}/bot999:wrong/getMe")
    assert (reply.status_code, reply.json()) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_telegram_webhook_is_recorded_and_checked(bot: Bot, tg: FakeTelegram) -> None:
    url = "https://bot.example.org/telegram/webhook"
    assert await bot.set_webhook(url, secret_token="s3cret_-x", allowed_updates=["message", "callback_query"])
    assert tg.webhook == {"url": url, "secret_token": "s3cret_-x", "allowed_updates": ["message", "callback_query"]}
    info = await bot.get_webhook_info()
    assert (info.url, info.allowed_updates) == (url, ("message", "callback_query"))
    with pytest.raises(BadRequest, match=r"(?i)https url"):
        await bot.set_webhook("http://127.0.0.1:8000/telegram/webhook")
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook(url, secret_token="not allowed!")
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert tg.webhook is None and (await bot.get_webhook_info()).url == ""


async def test_telegram_webhook_with_certificate_comes_as_multipart(bot: Bot, tg: FakeTelegram) -> None:
    url = "https://bot.example.org:8443/hook"
    assert await bot.set_webhook(url, certificate=b"-----BEGIN CERTIFICATE-----", secret_token="abc")
    assert tg.webhook == {"url": url, "secret_token": "abc"}
    certificate = tg.calls_to("setWebhook")[-1]["certificate"]
    assert certificate["content"] == b"-----BEGIN CERTIFICATE-----"


async def test_telegram_commands(bot: Bot, tg: FakeTelegram) -> None:
    assert await bot.set_my_commands([BotCommand("start", "Start a referral"), ("help", "What I can do")])
    assert tg.commands == [
        {"command": "start", "description": "Start a referral"},
        {"command": "help", "description": "What I can do"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Start", "Capital letters are refused")])


async def test_telegram_send_message_records_the_decoded_keyboard(bot: Bot, tg: FakeTelegram) -> None:
    keyboard = ReplyKeyboardMarkup([["Y", "N"]], one_time_keyboard=True)
    message = await bot.send_message(42, "Are you over 18?", reply_markup=keyboard, parse_mode="HTML")
    assert (message.message_id, message.chat.id, message.chat.type, message.text) == (
        1,
        42,
        "private",
        "Are you over 18?",
    )
    assert message.from_user is not None and message.from_user.is_bot
    [sent] = tg.sent
    assert (sent["chat_id"], sent["text"], sent["parse_mode"]) == (42, "Are you over 18?", "HTML")
    assert sent["reply_markup"]["keyboard"] == [[{"text": "Y"}, {"text": "N"}]]
    assert sent["reply_markup"]["one_time_keyboard"] is True
    inline = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    second = await bot.send_message(42, "Sure?", reply_markup=inline)
    assert second.message_id == 2
    assert second.reply_markup == inline


# PTB 22 warns that retry_after will become a timedelta; either form is fine here.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_telegram_flood_control_is_retry_after(bot: Bot, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "hello")
    retry_after = caught.value.retry_after
    assert (retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after) == 1
    assert (await bot.send_message(42, "hello")).message_id == 1
    assert [s["text"] for s in tg.sent] == ["hello"]
    assert len(tg.calls_to("sendMessage")) == 2


async def test_telegram_server_error_is_network_error(bot: Bot, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", 500, "Internal Server Error")
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(42, "hello")
    assert type(caught.value) is NetworkError
    assert "Internal Server Error" in str(caught.value)
    # A 429 without retry_after is not flood control to PTB: also a plain NetworkError.
    tg.fail_next("sendMessage", 429, "Too Many Requests")
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(42, "hello")
    assert type(caught.value) is NetworkError
    assert tg.sent == []


async def test_telegram_blocked_chat_is_forbidden(bot: Bot, tg: FakeTelegram) -> None:
    tg.block_chat(42)
    for _ in range(2):
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(42, "hello")
    assert (await bot.send_message(43, "hello")).chat.id == 43
    assert [s["chat_id"] for s in tg.sent] == [43]


async def test_telegram_refuses_empty_and_overlong_text(bot: Bot, tg: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(42, "x" * 4097)
    assert (await bot.send_message(42, "x" * 4096)).message_id == 1


async def test_telegram_updates_parse_and_are_acknowledged(bot: Bot, tg: FakeTelegram) -> None:
    tg.queue_update(text_update(10, 42, "/start ref", first_name="Ana"))
    tg.queue_update(contact_update(11, 42, "447700900123"))
    tg.queue_update(callback_update(12, 42, "consent:yes", message_id=7))
    first, second, third = await bot.get_updates(offset=0, timeout=1)
    assert isinstance(first, Update) and first.update_id == 10
    assert first.message.text == "/start ref" and first.message.from_user.first_name == "Ana"
    assert first.message.parse_entities() == {first.message.entities[0]: "/start"}
    contact = second.message.contact
    assert (contact.phone_number, contact.user_id) == ("447700900123", second.message.from_user.id)
    query = third.callback_query
    assert (query.data, query.message.message_id, query.message.chat.id, query.from_user.id) == (
        "consent:yes",
        7,
        42,
        42,
    )
    assert await bot.get_updates(offset=13, timeout=0) == ()
    assert tg.offsets == [0, 13] and tg.pending == []


async def test_telegram_long_poll_waits_and_wakes(bot: Bot, tg: FakeTelegram) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.8 < time.monotonic() - started < 1.8
    waiting = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    tg.queue_update(text_update(1, 42, "hi"))
    started = time.monotonic()
    [update] = await waiting
    assert update.message.text == "hi" and time.monotonic() - started < 1


async def test_telegram_callback_answers_and_edits_are_recorded(bot: Bot, tg: FakeTelegram) -> None:
    assert await bot.answer_callback_query("4000000000000012", text="Thanks")
    assert await bot.edit_message_reply_markup(chat_id=42, message_id=7, reply_markup=None)
    assert tg.calls_to("answerCallbackQuery") == [{"callback_query_id": "4000000000000012", "text": "Thanks"}]
    assert tg.calls_to("editMessageReplyMarkup")[0] | {} == {"chat_id": 42, "message_id": 7}


def test_telegram_accepts_json_bodies_and_404s_unknown_methods(tg: FakeTelegram) -> None:
    base = f"{tg.base_url}/bot{tg.token}"
    reply = httpx.post(
        f"{base}/sendMessage", json={"chat_id": 5, "text": "hi", "reply_markup": {"remove_keyboard": True}}
    )
    assert reply.json()["ok"] and reply.json()["result"]["text"] == "hi"
    assert tg.sent == [{"chat_id": 5, "text": "hi", "reply_markup": {"remove_keyboard": True}}]
    reply = httpx.post(f"{base}/sendPigeon", data={"chat_id": "5"})
    assert (reply.status_code, reply.json()) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert tg.calls[-1] == ("sendPigeon", {"chat_id": 5})
