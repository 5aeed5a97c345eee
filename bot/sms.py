"""SMS (and WhatsApp) through Twilio: the signed inbound webhook, answered with TwiML, and status callbacks."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.core import Inbound, NotStored, handle
from bot.runtime import RuntimeDep
from bot.settings import Settings
from bot.sms_sender import STATUS_PATH
from flows.channels import Channel
from flows.keywords import Keyword, carrier_keyword
from flows.messages import NOT_SAVED
from flows.text import plain
from store.outbox import record_status

__all__ = ["INBOUND_PATH", "plausible_id", "router"]

log = logging.getLogger("referral_bot.sms")

router = APIRouter()
INBOUND_PATH = "/sms/inbound"
NOT_CONFIGURED = "SMS is not configured on this server: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
WHATSAPP_PREFIX = "whatsapp:"
MAX_ID = 128  # the width of the store's provider id column
_ERROR_CODE = re.compile(r"[0-9]{1,10}")


async def _verified_form(request: Request, settings: Settings) -> dict[str, str] | None:
    """The form Twilio posted, if its signature is right for the public URL Twilio called."""
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    # Behind a proxy or tunnel the app sees another scheme and host: Twilio signed the public URL.
    url = settings.public_base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    if not signature or not validator.validate(url, params, signature):
        log.warning("rejected unsigned or wrongly signed request path=%s", request.url.path)
        return None
    return params


async def _twilio_request(request: Request, settings: Settings) -> dict[str, str] | Response:
    """The form of a genuine Twilio request, or the response that refuses it."""
    if not settings.sms_enabled:
        return PlainTextResponse(NOT_CONFIGURED, status_code=503)
    params = await _verified_form(request, settings)
    if params is None:
        return PlainTextResponse("Forbidden", status_code=403)
    return params


@router.post(INBOUND_PATH)
async def sms_inbound(request: Request, runtime: RuntimeDep) -> Response:
    """A text from a phone: stored, handled by the core, answered in TwiML."""
    params = await _twilio_request(request, runtime.settings)
    if isinstance(params, Response):
        return params
    sender = params.get("From", "")
    message_id = params.get("MessageSid") or params.get("SmsSid") or ""
    if not plausible_id(sender.removeprefix(WHATSAPP_PREFIX)) or not plausible_id(message_id):
        return PlainTextResponse("Missing or malformed From or MessageSid", status_code=400)
    channel = Channel.WHATSAPP if sender.startswith(WHATSAPP_PREFIX) else Channel.SMS
    inbound = Inbound(channel=channel, sender=sender.removeprefix(WHATSAPP_PREFIX), message_id=message_id,
                      text=params.get("Body", ""), received_at=datetime.now(UTC))
    try:
        handled = await handle(inbound, runtime.sessions, runtime.settings)
    except NotStored as exc:
        # Twilio does not send a failed webhook again, so the person must hear that their text was lost;
        # never to a STOP, which Twilio has acted on and answered itself.
        log.error("inbound sms not stored error=%s", exc)
        return _twiml([] if carrier_keyword(inbound.text) == Keyword.OPT_OUT else [NOT_SAVED])
    except Exception as exc:
        log.error("inbound sms stored, not yet processed error=%s", type(exc).__name__)
        return _twiml([])
    return _twiml([reply.text for reply in handled.replies])


def plausible_id(value: str) -> bool:
    """A provider's id or address as the store can key on it: present, printable, no longer than its column.

    Twilio's own are short and plain; anything else (control characters, which PostgreSQL refuses in
    text, or kilobytes) is not from Twilio, and must be refused with a 400 rather than fail the store
    and be told "send that again".
    """
    return 0 < len(value) <= MAX_ID and value.isprintable()


def _twiml(texts: list[str]) -> Response:
    twiml = MessagingResponse()
    for text in texts:
        twiml.message(plain(text))
    return Response(str(twiml), media_type="application/xml")


@router.post(STATUS_PATH)
async def sms_status(request: Request, runtime: RuntimeDep) -> Response:
    """Twilio's report on a message we sent: queued, sent, delivered, undelivered or failed."""
    params = await _twilio_request(request, runtime.settings)
    if isinstance(params, Response):
        return params
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not plausible_id(sid):
        return PlainTextResponse("Missing or malformed MessageSid", status_code=400)
    error_code = params.get("ErrorCode") or ""  # Twilio's are numbers; anything else is not kept
    async with runtime.sessions() as db, db.begin():
        known = await record_status(db, sid, status, error_code if _ERROR_CODE.fullmatch(error_code) else None,
                                    datetime.now(UTC))
    if not known:
        log.warning("status callback for an unknown message")
    return Response(status_code=204)
