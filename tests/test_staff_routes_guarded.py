"""Every staff route says who may call it: a role in its signature, and nobody who isn't logged in gets in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from support import TEST_KEY

from bot.settings import Settings, load_settings
from bot.staff.deps import RoleGuard
from bot.staff.security import SESSION_COOKIE
from bot.web import create_app

# Open to everyone: how staff log in.
# The login, and the accessibility statement (published for anyone, as UK public-sector services do).
PUBLIC = {("GET", "/staff/login"), ("POST", "/staff/login"), ("GET", "/staff/accessibility")}
# A plausible value for each path parameter of a staff route; a new parameter needs one here.
PATH_VALUES = {"reference": "LGX-AAAAA", "session_id": "1", "alert_id": "1", "user_id": "1"}


def all_routes(app: FastAPI) -> Iterable[Any]:
    """Every route the app serves, each with its full path, however routers include one another."""
    # Since FastAPI 0.137 app.routes holds included routers whole; before, include_router copied their routes in.
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    return walk(app.routes) if walk else app.routes


def staff_routes(app: FastAPI) -> list[tuple[str, str, Dependant | None]]:
    """(method, path, dependency tree) of every staff route the app serves."""
    found: list[tuple[str, str, Dependant | None]] = []
    for route in all_routes(app):
        path = getattr(route, "path", None)
        if not path or not path.startswith("/staff"):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            found.append((method, path, getattr(route, "dependant", None)))
    return found


def role_guards(dependant: Dependant) -> Iterator[RoleGuard]:
    """The role guards anywhere in a route's dependency tree."""
    if isinstance(dependant.call, RoleGuard):
        yield dependant.call
    for sub in dependant.dependencies:
        yield from role_guards(sub)


def test_every_staff_route_but_the_login_declares_the_roles_it_serves() -> None:
    app = create_app(load_settings(database_url="sqlite+aiosqlite:///never-opened.db", data_key=TEST_KEY))
    routes = staff_routes(app)
    # The walk must see the routers' routes, or this test would pass while checking nothing.
    assert len(routes) >= 20 and {(method, path) for method, path, _ in routes} >= PUBLIC
    unguarded = [f"{method} {path}" for method, path, dependant in routes
                 if (method, path) not in PUBLIC and (dependant is None or not any(role_guards(dependant)))]
    assert unguarded == []


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda found: PATH_VALUES[found.group(1)], path)


def _kept_out(response: httpx.Response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.is_redirect and response.headers.get("location") == "/staff/login"


@pytest.mark.parametrize("cookie", [None, "forged-token.0123abcd"], ids=["no cookie", "a cookie we did not sign"])
async def test_staff_routes_send_anyone_not_logged_in_to_the_login(settings: Settings, cookie: str | None) -> None:
    app = create_app(settings)
    routes = [(method, path) for method, path, _ in staff_routes(app) if (method, path) not in PUBLIC]
    answers: dict[str, int] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        cookies = {SESSION_COOKIE: cookie} if cookie else None
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=cookies) as http:
            for method, path in routes:
                form = {"csrf": "guessed", "action": "claim", "day": "2027-01-04", "time": "16:00", "on": "1"}
                response = await http.request(method, _url(path), data=form if method == "POST" else None)
                if not _kept_out(response):
                    answers[f"{method} {path}"] = response.status_code
    assert len(routes) >= 18
    assert answers == {}
