"""The baseline: a bare FastAPI endpoint served like `referral-bot serve` (uvicorn, one worker, no access log).

It checks the Twilio signature exactly as the app does and answers fixed TwiML; nothing else. Run as
`python -m bench.bare PORT PUBLIC_URL`. `python -m bench.bare trivial PORT` is the client's own ceiling:
an asyncio server that answers every request with canned bytes, no web framework at all.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from twilio.request_validator import RequestValidator

from bench.load import AUTH_TOKEN, INBOUND_PATH

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks.</Message></Response>'


def bare_app(public_url: str) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    validator = RequestValidator(AUTH_TOKEN)

    @app.post(INBOUND_PATH)
    async def inbound(request: Request) -> Response:
        form = await request.form()
        params = {key: str(value) for key, value in form.items()}
        if not validator.validate(public_url + INBOUND_PATH, params, request.headers.get("X-Twilio-Signature", "")):
            return PlainTextResponse("Forbidden", status_code=403)
        return Response(TWIML, media_type="application/xml")

    return app


CANNED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: " + str(len(TWIML)).encode()
          + b"\r\n\r\n" + TWIML.encode())


async def _trivial(port: int) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                writer.write(CANNED)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    if sys.argv[1] == "trivial":
        asyncio.run(_trivial(int(sys.argv[2])))
        return
    port, public_url = int(sys.argv[1]), sys.argv[2]
    # The same server and settings as `referral-bot serve` (bot/cli/operations.py).
    uvicorn.run(bare_app(public_url), host="127.0.0.1", port=port, access_log=False, log_level="warning",
                lifespan="on")


if __name__ == "__main__":
    main()
