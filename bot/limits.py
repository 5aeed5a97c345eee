"""A ceiling on request bodies, so a hostile or broken client cannot make the app hold megabytes in memory."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "BodySizeLimit"]

# Twilio's webhook carries at most 1,600 characters of text and Telegram's updates at most 4,096, plus their
# fields; a staff form is smaller still. A quarter of a megabyte leaves room for all of them many times over.
MAX_BODY_BYTES = 256 * 1024
TOO_LARGE = "That request is too large."


class BodySizeLimit:
    """Refuses a body over the limit with 413: at once when it says its length, as soon as it passes it otherwise."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await PlainTextResponse(TOO_LARGE, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised inside the route while it reads the body, so nothing has been stored yet.
                    raise HTTPException(status_code=413, detail=TOO_LARGE)
            return message

        await self.app(scope, counted, send)
