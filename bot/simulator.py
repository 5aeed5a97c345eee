"""The simulator: a test page where anyone can chat with the bot, through the same core as every channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Inbound, handle
from bot.delivery import Accepted, Result
from bot.settings import Settings
from flows.channels import Channel
from flows.statuses import OutboundStatus
from store.contacts import find_contact
from store.outbox import Claimed, delivered_to

__all__ = ["router", "SimulatorMessage", "SimulatorSender"]

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# Long enough for any real SMS thread (10 segments), short enough that nobody stores a novel.
MAX_TEXT = 1600


class SimulatorMessage(BaseModel):
    session: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    role: Literal["referrer", "young_person"] = "referrer"
    text: str = Field(max_length=MAX_TEXT)
    message_id: str | None = Field(default=None, min_length=1, max_length=128)


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessions


def _settings(request: Request) -> Settings:
    return request.app.state.settings


@router.get("/simulator", response_class=HTMLResponse)
async def simulator_page(request: Request) -> HTMLResponse:
    """The chat page."""
    return templates.TemplateResponse(request, "simulator.html", {"max_text": MAX_TEXT})


@router.post("/simulator/message")
async def simulator_message(
    message: SimulatorMessage,
    sessions: async_sessionmaker[AsyncSession] = Depends(_sessions),
    settings: Settings = Depends(_settings),
) -> JSONResponse:
    """Send one message as the chosen role and get the bot's replies."""
    inbound = Inbound(
        channel=Channel.SIMULATOR,
        sender=f"{message.role}:{message.session}",
        message_id=message.message_id or uuid.uuid4().hex,
        text=message.text,
        received_at=datetime.now(UTC),
    )
    replies = (await handle(inbound, sessions, settings)).replies
    return JSONResponse({"replies": [reply.text for reply in replies],
                         "choices": [list(reply.choices) for reply in replies]})


class SimulatorSender:
    """Delivers the bot's own messages to a simulator session: they wait in its inbox."""

    async def send(self, message: Claimed) -> Result:
        return Accepted(f"sim-{message.id}", OutboundStatus.DELIVERED)


@router.get("/simulator/inbox")
async def simulator_inbox(
    session: str = Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
    role: Literal["referrer", "young_person"] = "referrer",
    after: int = Query(default=0, ge=0),
    sessions: async_sessionmaker[AsyncSession] = Depends(_sessions),
) -> JSONResponse:
    """Messages the bot started to this session (a decision, a question from the unit), after `after`."""
    async with sessions() as db:
        contact = await find_contact(db, Channel.SIMULATOR, f"{role}:{session}")
        found = await delivered_to(db, contact.id, after) if contact else []
    return JSONResponse({"messages": [{"id": m.id, "text": m.body} for m in found]})
