"""A stand-in mail server on loopback: enough SMTP for Python's smtplib, with refusals on demand.

EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Messages it accepts are kept parsed.
"""

from __future__ import annotations

import base64
import email
import email.policy
import socketserver
import threading
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Self

__all__ = ["PASSWORD", "USERNAME", "FakeSmtp", "Received"]

USERNAME = "referral-bot"
PASSWORD = "mail-secret"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_to: list[str]
    message: EmailMessage


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        fake = self.server.fake
        self._say("220 stand-in ESMTP")
        mail_from, rcpt_to, authed = "", [], False
        while raw := self.rfile.readline():
            line = raw.decode(errors="replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._say("250-stand-in")
                self._say("250-AUTH PLAIN")
                self._say("250 8BITMIME")
            elif verb == "HELO":
                self._say("250 stand-in")
            elif verb == "AUTH":
                parts = line.split()
                given = base64.b64decode(parts[2]).split(b"\0") if len(parts) == 3 else []
                authed = given[1:] == [USERNAME.encode(), PASSWORD.encode()]
                self._say("235 2.7.0 Authentication successful" if authed else "535 5.7.8 Authentication failed")
            elif verb == "MAIL":
                if fake.require_auth and not authed:
                    self._say("530 5.7.0 Authentication required")
                    continue
                mail_from, rcpt_to = line.split(":", 1)[1].strip().strip("<>"), []
                self._say("250 OK")
            elif verb == "RCPT":
                refusal = fake.take_refusal("RCPT")
                if refusal:
                    self._say(refusal)
                    continue
                rcpt_to.append(line.split(":", 1)[1].strip().strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                refusal = fake.take_refusal("DATA")
                if refusal:
                    self._say(refusal)
                    continue
                parsed = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                fake.received.append(Received(mail_from, list(rcpt_to), parsed))  # type: ignore[arg-type]
                self._say("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 Bye")
                return
            else:
                self._say("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeSmtp) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeSmtp:
    """Start with `with FakeSmtp() as smtp:`; `smtp.port`, `smtp.received`, `smtp.refuse_next(...)`."""

    def __init__(self, *, require_auth: bool = True) -> None:
        self.require_auth = require_auth
        self.received: list[Received] = []
        self._refusals: dict[str, deque[str]] = {"RCPT": deque(), "DATA": deque()}
        self._lock = threading.Lock()
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-smtp", daemon=True)

    def refuse_next(self, stage: str, reply: str, times: int = 1) -> None:
        """Answer the next `times` RCPT or DATA commands with `reply`, e.g. "451 4.3.0 Try again later"."""
        with self._lock:
            self._refusals[stage].extend([reply] * times)

    def take_refusal(self, stage: str) -> str | None:
        with self._lock:
            return self._refusals[stage].popleft() if self._refusals[stage] else None

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
