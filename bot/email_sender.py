"""Notices to staff by email (SMTP): the unit's inbox and caseworkers, reference and event only."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bot.delivery import Accepted, Failed, Result, Retry
from bot.settings import Settings
from flows.statuses import OutboundStatus
from store.outbox import Claimed

__all__ = ["EmailSender", "subject_of"]

log = logging.getLogger("referral_bot.email")

TIMEOUT_SECONDS = 20
SUBJECT_PREFIX = "[referral-bot] "


def subject_of(body: str) -> str:
    """The notice's first sentence, which carries the reference and what happened."""
    first = body.split(". ", 1)[0].rstrip(".")
    return SUBJECT_PREFIX + (first if len(first) <= 90 else first[:87] + "...")


class EmailSender:
    """Sends one outbox message as a plain-text email; 4xx answers and lost connections are retried."""

    def __init__(self, settings: Settings) -> None:
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._security = settings.smtp_security
        self._username = settings.smtp_username
        self._password = settings.smtp_password.get_secret_value()
        self._from = settings.smtp_from
        self._domain = self._from.rpartition("@")[2] or None

    def _message(self, to: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = to
        message["Subject"] = subject_of(body)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self._domain)
        message.set_content(body + "\n")
        return message

    def _deliver(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self._security == "tls":
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=TIMEOUT_SECONDS)
        with smtp:
            if self._security == "starttls":
                smtp.starttls(context=context)
            if self._username:
                smtp.login(self._username, self._password)
            smtp.send_message(message)

    async def send(self, message: Claimed) -> Result:
        email = self._message(message.to, message.body)
        try:
            # smtplib blocks: keep it off the event loop.
            await asyncio.to_thread(self._deliver, email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return self._refused(message, min(codes) if codes else 550)
        except smtplib.SMTPResponseException as exc:
            return self._refused(message, exc.smtp_code)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("email send error outbox=%s error=%s", message.id, type(exc).__name__)
            return Retry(type(exc).__name__)
        return Accepted(str(email["Message-ID"]), OutboundStatus.SENT)

    def _refused(self, message: Claimed, code: int) -> Result:
        # SMTP's own rule: 4xx is "try again later", 5xx is final.
        if 400 <= code < 500:
            log.warning("email send retryable outbox=%s code=%d", message.id, code)
            return Retry(f"smtp_{code}")
        log.warning("email send failed outbox=%s code=%d", message.id, code)
        return Failed(f"smtp_{code}")
