"""The simulator: a test page where anyone can chat with the bot, through the same core as every channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from bot.core import Inbound, handle
from bot.delivery import Accepted, Result
from bot.runtime import RuntimeDep
from flows.channels import Channel
from flows.simulator_addresses import SimulatorRole, simulator_sender
from flows.statuses import OutboundStatus
from store.contacts import find_contact
from store.outbox import Claimed, delivered_to

__all__ = ["SimulatorMessage", "SimulatorSender", "router", "too_many"]

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# Long enough for any real SMS thread (10 segments), short enough that nobody stores a novel.
MAX_TEXT = 1600


class SimulatorMessage(BaseModel):
    session: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    role: SimulatorRole = "referrer"
    text: str = Field(max_length=MAX_TEXT)
    # Printable ASCII: an id is a key, and PostgreSQL refuses control characters in text.
    message_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")


def too_many(limit: int) -> str:
    """What a client over the simulator's limit is told."""
    return (f"Too many messages: the simulator takes at most {limit} a minute from one address. "
            "Wait a minute, then send again.")


@router.get("/simulator", response_class=HTMLResponse)
async def simulator_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The chat page; in production it says plainly that the simulator is on there."""
    return templates.TemplateResponse(request, "simulator.html", {
        "max_text": MAX_TEXT, "in_production": runtime.settings.environment == "production"})


@router.post("/simulator/message")
async def simulator_message(message: SimulatorMessage, request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Send one message as the chosen role and get the bot's replies."""
    limit = runtime.settings.simulator_rate_per_minute
    if not runtime.simulator_limit.allow(request.client.host if request.client else "unknown", limit):
        return JSONResponse({"error": too_many(limit)}, status_code=429, headers={"Retry-After": "60"})
    inbound = Inbound(
        channel=Channel.SIMULATOR,
        sender=simulator_sender(message.role, message.session),
        message_id=message.message_id or uuid.uuid4().hex,
        text=message.text,
        received_at=datetime.now(UTC),
    )
    replies = (await handle(inbound, runtime.sessions, runtime.settings)).replies
    return JSONResponse({"replies": [reply.text for reply in replies],
                         "choices": [list(reply.choices) for reply in replies]})


class SimulatorSender:
    """Delivers the bot's own messages to a simulator session: they wait in its inbox."""

    async def send(self, message: Claimed) -> Result:
        return Accepted(f"sim-{message.id}", OutboundStatus.DELIVERED)


@router.get("/simulator/inbox")
async def simulator_inbox(
    runtime: RuntimeDep,
    session: str = Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
    role: SimulatorRole = "referrer",
    after: int = Query(default=0, ge=0),
) -> JSONResponse:
    """Messages the bot started to this session (a decision, a question from the unit), after `after`."""
    async with runtime.sessions() as db:
        contact = await find_contact(db, Channel.SIMULATOR, simulator_sender(role, session))
        found = await delivered_to(db, contact.id, after) if contact else []
    return JSONResponse({"messages": [{"id": m.id, "text": m.body} for m in found]})
