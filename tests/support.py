"""Shared test material: a whole referral as a referrer would type it, and ways to drive the app."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from typer.testing import CliRunner

from bot import cli

LONDON = ZoneInfo("Europe/London")
TEST_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()

# Values that must never appear in plain text in the database or the logs.
PERSONAL = {
    "referrer_name": "Samira Okonkwo-Bright",
    "referrer_phone": "07700 900123",
    "referrer_email": "samira.ob@lambeth-yot.example.org",
    "yp_first_name": "Jaylen",
    "yp_last_name": "Featherstonehaugh",
    "yp_mobile": "07700 900456",
    "dob": "14/02/2006",
}

# One whole eligible referral: what the referrer answers, by the key of the question it answers.
# The order the bot asks in, and which questions it skips, are the dialog's business: `answering`
# sends whatever the dialog asks for, so adding a question means adding its answer here.
REFERRAL_ANSWERS: dict[str, str] = {
    "dob": PERSONAL["dob"],
    "borough": "lambeth",
    "gang_risks": "y 1 3",
    "ready": "yes",
    "supported_elsewhere": "n",
    "referrer_name": PERSONAL["referrer_name"],
    "referrer_job": "Youth worker, Lambeth YOT",
    "referrer_phone": PERSONAL["referrer_phone"],
    "referrer_email": PERSONAL["referrer_email"],
    "relationship": "their youth worker",
    "yp_name": f"{PERSONAL['yp_first_name']} {PERSONAL['yp_last_name']}",
    "yp_gender": "2",
    "yp_contact": f"{PERSONAL['yp_mobile']} 1 2 after 4pm",
    "yp_language": "English",
    "consent": "y",
    "mash": "y",
    "history": "1",
    "needs": "1 4 7 8",
    "agencies": "1 3",
    "urgency_notes": "2",
}


def answering(answers: dict[str, str], ctx: Any = None, *, until: str = "done") -> list[str]:
    """The messages a referrer sends to reach `until` (the end: sent), answering whatever the dialog asks.

    "hi" opens the chat and YES sends the summary; an optional question with no answer in `answers` is
    skipped, any other is a missing test answer, and says so.
    """
    from flows.dialog import State, step
    from flows.model import Context, Draft
    from flows.questions import BY_KEY

    context = ctx or Context(now=datetime.now(LONDON))
    texts: list[str] = []
    draft = Draft()
    # Sent, the referral may end at the offer to keep the referrer's details (answering it is optional).
    ends = {until, State.OFFER_REMEMBER} if until == State.DONE else {until}
    while draft.state not in ends:
        if draft.state == State.SUMMARY:
            text = "YES"
        elif draft.state in (State.NEW, State.DONE, State.SCREENED_OUT):
            if texts:
                raise LookupError(f"the referral ended at {draft.state} before reaching {until}")
            text = "hi"
        elif draft.state == State.USE_REMEMBERED and draft.state not in answers:
            text = "Y"
        elif draft.state in answers:
            text = answers[draft.state]
        elif BY_KEY[draft.state].optional:
            text = "skip"
        else:
            raise LookupError(f"no answer for the question {draft.state!r}: add it to the answers")
        texts.append(text)
        draft = step(draft, text, context).draft
    return texts


# The whole referral as typed over a channel that gives no phone number (SMS drops the phone: the
# sender's number is known).
WHOLE_REFERRAL: list[str] = answering(REFERRAL_ANSWERS)

# Forms in which the personal values could leak: as typed, and as normalised.
LEAK_FORMS = [
    *PERSONAL.values(),
    "Okonkwo",
    "Featherstonehaugh",
    "Jaylen",
    "+447700900123",
    "7700900123",
    "+447700900456",
    "7700900456",
    "2006-02-14",
    "lambeth-yot",
]

SCREENED_OUT: list[str] = ["hi", "03/03/2015"]  # aged 11: too young


def at(text: str) -> datetime:
    """A London wall-clock time, e.g. at('2026-11-25 10:00')."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def chat(client: httpx.AsyncClient, session: str, texts: list[str], prefix: str = "m") -> list[list[str]]:
    """Send each text in turn through the simulator; the replies to each."""
    out: list[list[str]] = []
    for number, message in enumerate(texts):
        response = await client.post("/simulator/message", json={
            "session": session, "role": "referrer", "text": message, "message_id": f"{prefix}-{session}-{number}"})
        assert response.status_code == 200, response.text
        out.append(response.json()["replies"])
    return out


class CliResult:
    """What the `referral-bot` command printed and returned."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def invoke_cli(env: dict[str, str], *args: str) -> CliResult:
    """Run the real command in this process, with exactly `env` as its environment (as a child would have).

    Starting a Python for every command cost more than the rest of the CLI tests together. What a
    separate process adds (exit status without a traceback, `serve`, a killed worker) is tested with
    real processes in test_server_process.py and test_exactly_once.py.
    """
    # Variables the test's environment has and `env` lacks are removed for the run, as for a child process.
    overrides: dict[str, str | None] = {name: None for name in os.environ if name not in env} | env
    result = CliRunner().invoke(cli.app, list(args), env=overrides, prog_name="referral-bot")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a command must end in one line, never a traceback
    return CliResult(result.exit_code, result.stdout, result.stderr)


async def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> CliResult:
    """Run the command on a worker thread, so the event loop, and the app under test, keep serving meanwhile.

    (Blocking the loop would freeze the app's background work mid-transaction, holding SQLite's
    write lock while the command waits for it.)
    """
    return await asyncio.wait_for(asyncio.to_thread(invoke_cli, env, *args), timeout)


@contextlib.asynccontextmanager
async def database_away(app: Any) -> AsyncIterator[None]:
    """The app's database gone from under it (pointed at a port nobody listens on), then back.

    The app's one session factory is re-pointed, so every part holding it (routes, the Telegram adapter)
    loses the database at once.
    """
    from bot.runtime import runtime_of
    from store.db import make_engine

    sessions = runtime_of(app).sessions
    working = sessions.kw["bind"]
    dead = make_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none", pool_pre_ping=False)
    sessions.configure(bind=dead)
    try:
        yield
    finally:
        sessions.configure(bind=working)
        await dead.dispose()
