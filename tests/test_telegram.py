"""Telegram through python-telegram-bot, end to end against a stand-in Bot API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from channels_support import PUBLIC_BASE_URL, TELEGRAM_SECRET, LiveApp, channel_settings, eventually, serve_live
from fakes.telegram_api import FakeTelegram, callback_update, contact_update, text_update
from fakes.twilio_api import FakeTwilio
from sqlalchemy import func, select, update
from support import WHOLE_REFERRAL

from flows.messages import remember_offer_text
from store.models import Contact, InboundMessage, OutboundMessage, Referral
from store.outbox import enqueue

CHAT = 5550001
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


async def post_update(live: LiveApp, update: dict[str, Any], headers: dict[str, str] | None = None) -> int:
    response = await live.http.post("/telegram/webhook", json=update, headers=HEADERS if headers is None else headers)
    return response.status_code


def texts_sent(telegram: FakeTelegram, chat: int = CHAT) -> list[str]:
    return [m["text"] for m in telegram.sent if int(m["chat_id"]) == chat]


async def test_start_up_registers_the_webhook_with_its_secret_and_the_commands(
    live: LiveApp, fake_telegram: FakeTelegram
) -> None:
    webhook = await eventually(lambda: fake_telegram.webhook)
    assert webhook["url"] == PUBLIC_BASE_URL + "/telegram/webhook"
    assert webhook["secret_token"] == TELEGRAM_SECRET
    commands = await eventually(lambda: fake_telegram.commands)
    assert {c["command"] for c in commands} == {"start", "help", "back", "summary", "form", "restart", "me",
                                                "forget"}


async def test_a_whole_referral_over_telegram_ends_queued(live: LiveApp, fake_telegram: FakeTelegram) -> None:
    update_id = 100
    for text in WHOLE_REFERRAL:
        update_id += 1
        if text == "07700 900123":
            # The phone question offers a button to share one's own number; the referrer presses it.
            last = fake_telegram.sent[-1]
            assert last["reply_markup"]["keyboard"][0][0]["request_contact"] is True
            assert await post_update(live, contact_update(update_id, CHAT, "447700900123")) == 200
            continue
        assert await post_update(live, text_update(update_id, CHAT, text)) == 200
    sent = texts_sent(fake_telegram)
    assert sent[0].startswith("Referral line")
    assert sent[-2].startswith("Thank you. Referral ")
    assert sent[-1] == remember_offer_text(False, replacing=False)  # "from this account"
    async with live.sessions() as db:
        referral = (await db.execute(select(Referral))).scalar_one()
    assert referral.status == "queued" and referral.channel == "telegram"
    assert referral.details["referrer_phone"] == "+447700900123"


async def test_yes_no_questions_get_buttons_and_free_text_questions_remove_them(
    live: LiveApp, fake_telegram: FakeTelegram
) -> None:
    for n, text in enumerate(["/start", "14/02/2006", "Lambeth", "Y 1 3"], start=1):
        await post_update(live, text_update(n, CHAT, text))
    ready_question = fake_telegram.sent[-1]
    assert [b["text"] for b in ready_question["reply_markup"]["keyboard"][0]] == ["Y", "N"]
    assert fake_telegram.sent[1]["reply_markup"] == {"remove_keyboard": True}


async def test_a_wrong_or_missing_secret_gets_403_and_touches_nothing(
    live: LiveApp, fake_telegram: FakeTelegram
) -> None:
    assert await post_update(live, text_update(1, CHAT, "hi"), headers={}) == 403
    assert await post_update(live, text_update(2, CHAT, "hi"),
                             headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
    async with live.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert fake_telegram.sent == []


async def test_a_replayed_update_id_changes_nothing_and_sends_nothing_more(
    live: LiveApp, fake_telegram: FakeTelegram
) -> None:
    await post_update(live, text_update(7, CHAT, "hi"))
    await post_update(live, text_update(8, CHAT, "14/02/2006"))
    before = list(fake_telegram.sent)
    assert await post_update(live, text_update(8, CHAT, "14/02/2006")) == 200
    assert fake_telegram.sent == before
    async with live.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(InboundMessage)) == 2


async def test_commands_work_with_the_bots_name_and_buttons_pressed_inline_are_answered(
    live: LiveApp, fake_telegram: FakeTelegram
) -> None:
    await post_update(live, text_update(1, CHAT, "/start"))
    await post_update(live, text_update(2, CHAT, "/help@referral_test_bot"))
    assert texts_sent(fake_telegram)[2].startswith("FORM: all in one text.")
    await post_update(live, callback_update(3, CHAT, "14/02/2006"))
    assert fake_telegram.calls_to("answerCallbackQuery")
    assert texts_sent(fake_telegram)[-1].startswith("Which London borough")


async def test_flood_control_is_waited_out_and_the_reply_still_arrives(
    live: LiveApp, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await post_update(live, text_update(1, CHAT, "hi"))
    async with live.sessions() as db:
        waiting = (await db.execute(select(OutboundMessage).order_by(OutboundMessage.id))).scalars().first()
    assert waiting is not None and waiting.status == "pending" and waiting.error_code == "429"
    live.dispatcher.kick()
    await eventually(lambda: len(texts_sent(fake_telegram)) == 2, timeout=10)
    assert texts_sent(fake_telegram)[0].startswith("Referral line")


async def test_a_server_error_is_retried(live: LiveApp, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", 502, "Bad Gateway")
    await post_update(live, text_update(1, CHAT, "hi"))
    async with live.sessions() as db, db.begin():
        await db.execute(update(OutboundMessage).values(next_attempt_at=datetime.now(UTC)))
    live.dispatcher.kick()
    await eventually(lambda: len(texts_sent(fake_telegram)) == 2)
    assert texts_sent(fake_telegram)[0].startswith("Referral line")  # still in order


async def test_a_user_who_blocked_the_bot_is_recorded_and_not_written_to_again(
    live: LiveApp, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.block_chat(CHAT)
    await post_update(live, text_update(1, CHAT, "hi"))
    async with live.sessions() as db:
        assert (await db.execute(select(Contact.blocked))).scalar_one() is True
        statuses = (await db.execute(select(OutboundMessage.status))).scalars().all()
    assert "failed" in statuses
    async with live.sessions() as db, db.begin():
        later = await enqueue(db, channel="telegram", to=str(CHAT), body="Decision", purpose="decision",
                              now=datetime.now(UTC))
    assert later is not None and later.status == "suppressed"
    attempts = len(fake_telegram.calls_to("sendMessage"))
    await live.dispatcher.run_once()
    assert len(fake_telegram.calls_to("sendMessage")) == attempts


@contextlib.asynccontextmanager
async def polling_app(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: FakeTelegram
) -> AsyncIterator[LiveApp]:
    settings = channel_settings(database_url, fake_twilio, fake_telegram, telegram_mode="polling",
                                telegram_webhook_secret="")
    async with serve_live(settings) as live:
        yield live


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_polling_mode_reads_updates_and_acknowledges_them(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: FakeTelegram
) -> None:
    async with polling_app(database_url, fake_twilio, fake_telegram):
        fake_telegram.queue_update(text_update(41, CHAT, "hi"))
        await eventually(lambda: len(texts_sent(fake_telegram)) == 2)
        fake_telegram.queue_update(text_update(42, CHAT, "14/02/2006"))
        await eventually(lambda: len(texts_sent(fake_telegram)) == 3)
        await eventually(lambda: 43 in fake_telegram.offsets)
    assert fake_telegram.calls_to("deleteWebhook")
    assert texts_sent(fake_telegram)[-1].startswith("Which London borough")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_polling_keeps_an_update_the_database_could_not_take_until_it_can(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: FakeTelegram
) -> None:
    from support import database_away

    async with polling_app(database_url, fake_twilio, fake_telegram) as live:
        async with database_away(live.app):
            polls = len(fake_telegram.offsets)
            fake_telegram.queue_update(text_update(51, CHAT, "hi"))
            await eventually(lambda: len(fake_telegram.offsets) >= polls + 2)  # asked again, still not acknowledged
            assert 52 not in fake_telegram.offsets and fake_telegram.pending
        await eventually(lambda: len(texts_sent(fake_telegram)) == 2)
        await eventually(lambda: 52 in fake_telegram.offsets)
    assert texts_sent(fake_telegram)[0].startswith("Referral line")


async def test_without_a_token_the_telegram_route_says_it_is_not_configured(client: Any) -> None:
    response = await client.post("/telegram/webhook", json={"update_id": 1}, headers=HEADERS)
    assert response.status_code == 503
    assert "TELEGRAM_BOT_TOKEN" in response.text
    sms = await client.post("/sms/inbound", data={"From": "+447700900123", "Body": "hi"})
    assert sms.status_code == 503 and "TWILIO_ACCOUNT_SID" in sms.text
