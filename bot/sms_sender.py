"""Outbound SMS through Twilio's REST API, with a delivery-status callback."""

from __future__ import annotations

import asyncio
import logging

import requests
from twilio.base.exceptions import TwilioRestException

from bot.delivery import Accepted, Failed, Result, Retry
from bot.settings import Settings
from bot.twilio_http import make_twilio_client
from store.outbox import Claimed

__all__ = ["SmsSender", "STATUS_PATH"]

log = logging.getLogger("referral_bot.sms")

STATUS_PATH = "/sms/status"


class SmsSender:
    """Creates messages with the official client; classifies failures as retryable or permanent."""

    def __init__(self, settings: Settings) -> None:
        self._client = make_twilio_client(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
                                          settings.twilio_api_base_url)
        self._from = settings.twilio_from_number
        self._service = settings.twilio_messaging_service_sid
        self._callback = settings.public_base_url + STATUS_PATH

    def _create(self, to: str, body: str) -> tuple[str, str]:
        sender = {"messaging_service_sid": self._service} if self._service else {"from_": self._from}
        message = self._client.messages.create(to=to, body=body, status_callback=self._callback, **sender)
        return str(message.sid), str(message.status or "queued")

    async def send(self, message: Claimed) -> Result:
        to = f"whatsapp:{message.to}" if message.channel == "whatsapp" else message.to
        try:
            # The twilio client is synchronous (requests): keep it off the event loop.
            sid, status = await asyncio.to_thread(self._create, to, message.body)
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            if exc.status == 429 or exc.status >= 500:
                log.warning("sms send retryable outbox=%s status=%s code=%s", message.id, exc.status, code)
                return Retry(code)
            log.warning("sms send failed outbox=%s status=%s code=%s", message.id, exc.status, code)
            return Failed(code, blocked=exc.code == 21610)
        except requests.RequestException as exc:
            log.warning("sms send network error outbox=%s error=%s", message.id, type(exc).__name__)
            return Retry(type(exc).__name__)
        return Accepted(sid, status)
