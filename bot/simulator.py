"""The simulator: a test page where anyone can chat with the bot, through the same core as every channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Channel, Inbound, handle
from bot.settings import Settings

__all__ = ["router", "SimulatorMessage"]

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# Long enough for any real SMS thread (10 segments), short enough that nobody stores a novel.
MAX_TEXT = 1600


class SimulatorMessage(BaseModel):
    session: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    role: Literal["referrer"] = "referrer"
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
