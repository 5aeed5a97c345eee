"""Oversized requests are refused before anything is read into the store, on a real server over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from channels_support import PUBLIC_BASE_URL, TWILIO_NUMBER, LiveApp
from fakes.twilio_api import FakeTwilio, signed_inbound
from sqlalchemy import func, select

from bot.limits import MAX_BODY_BYTES
from store.models import InboundMessage

ROUTES = ["/sms/inbound", "/sms/status", "/telegram/webhook", "/simulator/message", "/staff/login"]


async def _stored(live: LiveApp) -> int:
    async with live.sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(InboundMessage)) or 0)


async def test_a_correctly_signed_sms_too_large_to_be_real_is_refused_and_stores_nothing(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    params, headers = signed_inbound(PUBLIC_BASE_URL + "/sms/inbound", fake_twilio.auth_token, From="+447700900123",
                                     To=TWILIO_NUMBER, Body="x" * (MAX_BODY_BYTES + 1), MessageSid="SM" + "f" * 32)
    response = await live.http.post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 413 and "too large" in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert await _stored(live) == 0

    params, headers = signed_inbound(PUBLIC_BASE_URL + "/sms/inbound", fake_twilio.auth_token, From="+447700900123",
                                     To=TWILIO_NUMBER, Body="x" * 1600, MessageSid="SM" + "e" * 32)
    assert (
        await live.http.post("/sms/inbound", data=params, headers=headers)
    ).status_code == 200  # the longest real SMS
    assert await _stored(live) == 1


@pytest.mark.parametrize("route", ROUTES)
async def test_a_body_without_a_length_is_cut_off_once_it_passes_the_limit(live: LiveApp, route: str) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB in all, streamed with no Content-Length
            yield b"a" * 65536

    secret = live.settings.telegram_webhook_secret.get_secret_value()  # past the check that needs no body
    headers = {"content-type": "application/x-www-form-urlencoded", "x-telegram-bot-api-secret-token": secret}
    response = await live.http.post(route, content=endless(), headers=headers)
    assert response.status_code == 413
    assert await _stored(live) == 0


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(live: LiveApp) -> None:
    # A client that announces a huge body and sends almost none: the answer comes without waiting for the rest.
    host, port = live.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /simulator/message HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n{}" % (MAX_BODY_BYTES + 1))
    try:
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()  # or the server, shutting down, would wait for this connection for ever
    assert status_line.split()[1] == b"413"
