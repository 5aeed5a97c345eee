"""The web app: health, the simulator, and (in later modules) the channel webhooks and staff pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.trustedhost import TrustedHostMiddleware

from bot import metrics, simulator, sms
from bot import telegram as telegram_routes
from bot.delivery import Sender
from bot.dispatcher import Dispatcher
from bot.limits import BodySizeLimit
from bot.recovery import recover_pending
from bot.runtime import Runtime, RuntimeDep, provider_senders
from bot.settings import Settings
from bot.staff import alerts_routes as staff_alerts
from bot.staff import audit_routes as staff_audit
from bot.staff import enquiry_routes as staff_enquiries
from bot.staff import routes as staff_routes
from bot.staff import same_person_routes as staff_same_person
from bot.staff import second_factor_routes as staff_second_factor
from bot.staff import sessions_routes as staff_sessions
from bot.staff import stats as staff_stats
from bot.staff import users_routes as staff_users
from bot.staff.auth import Forbidden, LoginRequired, LoginStepRequired
from bot.staff.pages import templates as staff_templates
from bot.staff.security import SESSION_COOKIE, CookieSigner, LoginThrottle, SecurityHeaders
from bot.telegram import TelegramChannel, TelegramSender
from flows.channels import Channel
from flows.messages import NOT_SAVED
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.migrate import is_at_head
from store.retention import purge_expired

__all__ = ["create_app", "maintain_forever"]

log = logging.getLogger("referral_bot.web")

PURGE_EVERY_SECONDS = 15 * 60
RECOVER_EVERY_SECONDS = 30
HEALTH_TIMEOUT_SECONDS = 3.0


class NotMigrated(RuntimeError):
    """The database schema is behind the code."""


async def maintain_forever(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                            dispatcher: Dispatcher) -> None:
    """Every so often: process messages a crash left behind, and delete what is past its retention."""
    last_purge = 0.0
    while True:
        try:
            if await recover_pending(sessions, settings):
                dispatcher.kick()
            if time.monotonic() - last_purge >= PURGE_EVERY_SECONDS:
                async with sessions() as db, db.begin():
                    counts = await purge_expired(db, datetime.now(UTC), draft_ttl_hours=settings.draft_ttl_hours,
                                                 declined_days=settings.declined_retention_days,
                                                 closed_days=settings.closed_retention_days,
                                                 enquiry_days=settings.enquiry_retention_days,
                                                 remembered_days=settings.remember_referrer_days)
                last_purge = time.monotonic()
                if counts.total:
                    log.info("purged drafts=%d messages=%d declined=%d closed=%d outbound=%d contacts=%d "
                             "enquiries=%d referrers=%d", counts.conversations, counts.messages, counts.declined,
                             counts.closed, counts.outbound, counts.contacts, counts.enquiries, counts.referrers)
        except Exception:
            log.exception("maintenance failed")
        await asyncio.sleep(RECOVER_EVERY_SECONDS)


async def _configure_telegram(channel: TelegramSender) -> None:
    """Register the webhook and commands, retrying: Telegram being away must not stop the app."""
    for attempt in range(1, 6):
        try:
            await channel.configure()
            return
        except Exception as exc:
            log.warning("telegram set-up failed attempt=%d error=%s", attempt, type(exc).__name__)
            await asyncio.sleep(min(30, 2**attempt))


def trusted_hosts(settings: Settings) -> list[str]:
    """The public URL's host, and the local names health checks and tests use."""
    return sorted({urlsplit(settings.public_base_url).hostname or "localhost", "localhost", "127.0.0.1", "testserver"})


def create_app(settings: Settings) -> FastAPI:
    """Build the app for these settings; the database and keys are opened in the lifespan."""
    cookie_signer = CookieSigner(settings.session_key())
    if settings.session_secret is None and not settings.session_secret_file.exists():
        log.warning("no SESSION_SECRET or %s: staff are logged out when the app stops", settings.session_secret_file)
    login_throttle = LoginThrottle()  # for the app's lifetime, like the failures it counts
    if settings.environment == "production" and settings.simulator_on:
        log.warning("the simulator is on in production (SIMULATOR_ENABLED=true): anyone who can reach /simulator "
                    "can chat with the bot; its referrals are marked as tests")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        crypto.configure(*settings.data_keys())
        engine = make_engine(settings.database_url)
        if not await is_at_head(engine):
            await engine.dispose()
            raise NotMigrated("the database is not migrated: run `referral-bot migrate`")
        sessions = make_sessionmaker(engine)
        senders: dict[Channel, Sender] = provider_senders(settings)
        if settings.simulator_on:
            senders[Channel.SIMULATOR] = simulator.SimulatorSender()
        telegram_sender: TelegramSender | None = None
        if settings.telegram_enabled:
            telegram_sender = TelegramSender(settings)
            await telegram_sender.start()
            senders[Channel.TELEGRAM] = telegram_sender
        dispatcher = Dispatcher(sessions, senders, settings.outbox_poll_seconds,
                                timedelta(seconds=settings.outbox_stale_seconds), concurrency=settings.sms_concurrency)
        telegram = (TelegramChannel(telegram_sender, sessions, dispatcher, settings)
                    if telegram_sender is not None else None)
        app.state.runtime = Runtime(settings=settings, sessions=sessions, dispatcher=dispatcher, telegram=telegram,
                                    cookie_signer=cookie_signer, login_throttle=login_throttle)
        tasks = [
            asyncio.create_task(maintain_forever(sessions, settings, dispatcher)),
            asyncio.create_task(dispatcher.run_forever()),
        ]
        if telegram is not None:
            tasks.append(asyncio.create_task(_configure_telegram(telegram.sender)))
            if settings.telegram_mode == "polling":
                tasks.append(asyncio.create_task(telegram.poll_forever()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if telegram_sender is not None:
                await telegram_sender.stop()
            await engine.dispose()

    app = FastAPI(title="referral-bot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    # Only our own names: a forged Host header would otherwise shape the URLs of redirects. Inside the
    # body limit, so an oversized body is refused first whatever its Host.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts(settings))
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders, hsts=settings.public_base_url.startswith("https://"))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        response = RedirectResponse("/staff/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/staff")
        return response

    @app.exception_handler(LoginStepRequired)
    async def to_next_step(request: Request, exc: LoginStepRequired) -> Response:
        return RedirectResponse(exc.path, status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return staff_templates.TemplateResponse(
            request, "staff/error.html",
            {"staff": None, "message": "You don't have access to this page. If you think you should, ask an admin."},
            status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        """Which fields are wrong and why, never echoing what was sent (it may be personal, or not even text).

        A path that doesn't fit (an id too big for any row) names nothing there is: 404, as for a missing one.
        """
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return staff_templates.TemplateResponse(
                request, "staff/error.html", {"staff": None, "message": "There is no such page."}, status_code=404)
        problems = [{"field": ".".join(str(part) for part in error.get("loc", ())[1:]) or "body",
                     "problem": str(error.get("msg", "invalid"))} for error in exc.errors()]
        return JSONResponse({"error": "The request was not understood.", "problems": problems}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        """Never a stack trace to a user: a kind line, a retryable status, and the type in our log."""
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse({"error": NOT_SAVED, "replies": [NOT_SAVED]}, status_code=503)

    @app.get("/healthz")
    async def healthz(runtime: RuntimeDep) -> JSONResponse:
        """200 when the database answers, 503 when it does not."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), runtime.sessions() as db:
                await db.execute(text("SELECT 1"))
        except Exception:
            log.warning("health check: database unavailable")
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.include_router(staff_routes.router)
    app.include_router(staff_stats.router)
    app.include_router(staff_sessions.router)
    app.include_router(staff_alerts.router)
    app.include_router(staff_enquiries.router)
    app.include_router(staff_audit.router)
    app.include_router(staff_users.router)
    app.include_router(staff_same_person.router)
    app.include_router(staff_second_factor.router)
    app.include_router(staff_second_factor.admin_router)
    app.include_router(sms.router)
    app.include_router(metrics.router)
    app.include_router(telegram_routes.router)
    if settings.simulator_on:
        app.include_router(simulator.router)
    return app
