"""Cookies, CSRF tokens, login throttling and security headers for the staff pages."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.limits import SlidingWindow

__all__ = [
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "CookieSigner",
    "LoginThrottle",
    "SecurityHeaders",
    "new_token",
    "same_token",
]

SESSION_COOKIE = "rb_session"
LOGIN_COOKIE = "rb_login"

HEADERS = {
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"x-content-type-options": b"nosniff",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
}


HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Adds the security headers to every response; staff pages are also never cached."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        # Only when served over https: on plain http the header is ignored, and it would pin a dev host.
        self.headers = [*HEADERS.items(), *([(b"strict-transport-security", HSTS)] if hsts else [])]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        staff = scope["path"].startswith("/staff")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in HEADERS]
                headers += self.headers
                if staff:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given and expected) and hmac.compare_digest(str(given).encode(), str(expected).encode())


class CookieSigner:
    """Signs cookie values so a tampered cookie is refused before any database look-up."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"referral-bot staff cookies\x00" + key).digest()

    def sign(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"{value}.{mac}"

    def unsign(self, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, _, mac = signed.rpartition(".")
        expected = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return value if hmac.compare_digest(mac, expected) else None


class LoginThrottle:
    """Slows down guessing from one address, on top of the per-account lockout.

    An attempt takes its place in the count before its password is checked, and gives it back if
    it succeeds: checking and recording in one step is what stops parallel guesses from all
    slipping in under the limit.
    """

    def __init__(self, limit: int = 20, window_seconds: float = 600) -> None:
        self.limit = limit
        self._window = SlidingWindow(window_seconds)

    def reserve(self, address: str) -> float | None:
        """A place for one attempt from this address (its time, to give back), or None when over the limit."""
        return self._window.take(address, self.limit)

    def succeeded(self, address: str, place: float) -> None:
        """A right password doesn't count against its address."""
        self._window.give_back(address, place)
