"""The web app: health, the simulator, and (in later modules) the channel webhooks and staff pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import simulator
from bot.settings import Settings
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.migrate import is_at_head
from store.purge import purge_drafts

__all__ = ["create_app", "Sessions", "AppSettings"]

log = logging.getLogger("referral_bot.web")

PURGE_EVERY_SECONDS = 15 * 60
SORRY = "Sorry, something went wrong on our side and nothing was saved. Please send that again in a minute."
HEALTH_TIMEOUT_SECONDS = 3.0


class NotMigrated(RuntimeError):
    """The database schema is behind the code."""


def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessions


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


async def _purge_forever(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    while True:
        try:
            async with sessions() as db, db.begin():
                counts = await purge_drafts(db, datetime.now(UTC), settings.draft_ttl_hours)
            if counts.conversations or counts.messages:
                log.info("purged drafts=%d messages=%d", counts.conversations, counts.messages)
        except Exception:  # noqa: BLE001 - a failed purge must not stop the app; it runs again later
            log.exception("draft purge failed")
        await asyncio.sleep(PURGE_EVERY_SECONDS)


def create_app(settings: Settings) -> FastAPI:
    """Build the app for these settings; the database and keys are opened in the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        crypto.configure(settings.data_key_bytes())
        engine = make_engine(settings.database_url)
        if not await is_at_head(engine):
            await engine.dispose()
            raise NotMigrated("the database is not migrated: run `referral-bot migrate`")
        app.state.sessions = make_sessionmaker(engine)
        purger = asyncio.create_task(_purge_forever(app.state.sessions, settings))
        try:
            yield
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            await engine.dispose()

    app = FastAPI(title="referral-bot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        """Never a stack trace to a user: a kind line, a retryable status, and the type in our log."""
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse({"error": SORRY, "replies": [SORRY]}, status_code=503)

    @app.get("/healthz")
    async def healthz(sessions: Sessions) -> JSONResponse:
        """200 when the database answers, 503 when it does not."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), sessions() as db:
                await db.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure to reach the database is "unhealthy"
            log.warning("health check: database unavailable")
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok"})

    if settings.simulator_on:
        app.include_router(simulator.router)
    return app
