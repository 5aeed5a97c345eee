"""Faults from outside: a server killed mid-burst, a replay storm, hostile input to every public route.

Each test runs the real `python -m bot serve` process and speaks to it over sockets as the providers
do (signed Twilio webhooks, Telegram updates with the secret token), and then counts what the
database holds. The database going away is in test_faults_postgres.py, a flaky Twilio in
test_faults_reminders.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from channels_support import TELEGRAM_SECRET
from fakes.twilio_api import FakeTwilio
from fault_support import Server, provider_env, serving, sms_webhook, twiml_messages
from sqlalchemy import func, select
from support import PERSONAL, TEST_KEY, WHOLE_REFERRAL

from bot.settings import decode_data_key
from flows.messages import NOT_SAVED
from flows.statuses import InboundStatus
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.models import Conversation, InboundMessage, OutboundMessage, Referral

SMS_REFERRAL = [text for text in WHOLE_REFERRAL if text != PERSONAL["referrer_phone"]]  # the number is the sender's
REFERENCE = re.compile(r"LGX-[A-Z0-9]{5}")
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _sid(referrer: int, number: int) -> str:
    return f"SM{referrer:08x}{number:024x}"


def _phone(referrer: int) -> str:
    return f"+4477009{referrer:05d}"


def _normalised(replies: list[list[str]], referrer: int) -> list[list[str]]:
    """Replies with the reference and the referrer's own number blanked: all that differs from one to the next."""
    phone = _phone(referrer)
    national = f"0{phone[3:7]} {phone[7:]}"
    return [[REFERENCE.sub("LGX-?????", text).replace(national, "07700 ??????") for text in turn] for turn in replies]


async def _counts(database_url: str) -> dict[str, Any]:
    crypto.configure(decode_data_key(TEST_KEY))
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            inbound = Counter((await db.execute(select(InboundMessage.status))).scalars())
            return {
                "inbound": inbound,
                "conversations": Counter((await db.execute(select(Conversation.state))).scalars()),
                "referrals": list((await db.execute(select(Referral.reference))).scalars()),
                "outbound": int(await db.scalar(select(func.count()).select_from(OutboundMessage)) or 0),
                "replies": {sid: replies for sid, replies in (await db.execute(
                    select(InboundMessage.provider_id, InboundMessage.replies))).all()},
            }
    finally:
        await engine.dispose()


# --- kill -9 in the middle of a burst ----------------------------------------------------------------


class _Referrer:
    """One phone texting a whole referral, each text sent again (same MessageSid) until it gets a 200."""

    def __init__(self, number: int, twilio: FakeTwilio) -> None:
        self.number, self.twilio = number, twilio
        self.replies: list[list[str]] = []
        self.cut_off = 0  # requests that got no answer (the server was killed under them)

    async def run(self, http: httpx.AsyncClient, progress: list[int]) -> None:
        for index, text in enumerate(SMS_REFERRAL):
            data, headers = sms_webhook(self.twilio, _phone(self.number), text, _sid(self.number, index))
            while True:
                try:
                    response = await http.post("/sms/inbound", data=data, headers=headers)
                except httpx.TransportError:
                    self.cut_off += 1
                    await asyncio.sleep(0.05)
                    continue
                assert response.status_code == 200, response.text
                break
            self.replies.append(twiml_messages(response.text))
            progress[0] += 1


async def test_a_server_killed_mid_burst_and_restarted_loses_and_doubles_nothing(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any, env_for_cli: dict[str, Any], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    referrers = 6
    server = Server(provider_env(env_for_cli, fake_twilio, fake_telegram), tmp_path / "serve.log")
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            control = _Referrer(0, fake_twilio)  # undisturbed: what every referrer must have been answered
            await control.run(http, [0])
            progress = [0]
            burst = [_Referrer(number, fake_twilio) for number in range(1, referrers + 1)]
            tasks = [asyncio.create_task(referrer.run(http, progress)) for referrer in burst]
            total = referrers * len(SMS_REFERRAL)
            while progress[0] < total * 0.4:
                await asyncio.sleep(0.005)
            server.kill()
            answered_at_kill = progress[0]
            server.start()
            await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        server.stop()
    assert sum(referrer.cut_off for referrer in burst) > 0, "the kill cut off no request: it tested nothing"
    expected = _normalised(control.replies, 0)
    assert "received and queued" in expected[-1][0]
    for referrer in burst:  # each conversation went exactly as the undisturbed one: no step lost, none taken twice
        answered = _normalised(referrer.replies, referrer.number)
        assert answered == expected, f"referrer {referrer.number} was answered differently"
    counts = await _counts(database_url)
    assert counts["inbound"] == Counter({InboundStatus.PROCESSED: (referrers + 1) * len(SMS_REFERRAL)})
    assert len(counts["referrals"]) == len(set(counts["referrals"])) == referrers + 1
    assert sorted(REFERENCE.findall(" ".join(r.replies[-1][0] for r in [control, *burst]))) == sorted(
        counts["referrals"])
    assert sum(counts["conversations"].values()) == referrers + 1 and len(counts["conversations"]) == 1
    with capsys.disabled():
        print(f"\n[faults] kill -9, {database_url.split('+', 1)[0]}: killed after {answered_at_kill}/{total} answers, "
              f"{sum(r.cut_off for r in burst)} requests cut off and sent again, {referrers + 1} referrals, 0 doubled")


# --- a replay storm ------------------------------------------------------------------------------------


@on_sqlite
async def test_a_replay_storm_of_500_webhooks_each_sent_20_times_ends_as_if_each_came_once(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any, env_for_cli: dict[str, Any], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    webhooks, copies, concurrency = 500, 20, 48
    requests = [sms_webhook(fake_twilio, _phone(n), "hi", _sid(n, 0)) for n in range(webhooks)]
    order = [n for n in range(webhooks) for _ in range(copies)]
    random.Random(15).shuffle(order)
    answers: dict[int, Counter[str]] = {n: Counter() for n in range(webhooks)}
    gate = asyncio.Semaphore(concurrency)
    dropped = [0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def send(http: httpx.AsyncClient, n: int) -> None:
        data, headers = requests[n]
        async with gate:
            while True:
                try:
                    response = await http.post("/sms/inbound", data=data, headers=headers)
                    break
                except httpx.TransportError:  # a keep-alive connection closed as it was reused: another copy
                    dropped[0] += 1
        assert response.status_code == 200, response.text
        answers[n][response.text] += 1

    with serving(provider_env(env_for_cli, fake_twilio, fake_telegram), tmp_path / "serve.log") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
            started = time.perf_counter()
            await asyncio.gather(*(send(http, n) for n in order))
            elapsed = time.perf_counter() - started
    assert [n for n, seen in answers.items() if len(seen) != 1] == []  # every copy got the one same answer
    counts = await _counts(database_url)
    assert counts["inbound"] == Counter({InboundStatus.PROCESSED: webhooks})
    # One conversation a sender, every one at the same step: each moved once, not twenty times.
    assert sum(counts["conversations"].values()) == webhooks and len(counts["conversations"]) == 1
    stored = {sid: [reply["text"] for reply in replies or []] for sid, replies in counts["replies"].items()}
    assert {_sid(n, 0): twiml_messages(next(iter(seen))) for n, seen in answers.items()} == stored
    assert counts["outbound"] == 0 and fake_twilio.sent_count() == 0  # nothing answered again another way
    with capsys.disabled():
        print(f"\n[faults] replay storm: {webhooks} x {copies} = {webhooks * copies} requests in {elapsed:.1f}s "
              f"({webhooks * copies / elapsed:.0f}/s, {dropped[0]} connections dropped and sent again), "
              f"stored {webhooks}, duplicates 0")


# --- hostile input to every public route ---------------------------------------------------------------

OVER_LIMIT = b"a=" + b"x" * (300 * 1024)
NASTY_TEXTS = [
    "\x00", "a\x00b", "x" * 10_000, "<script>alert(1)</script>", "'; DROP TABLE referrals; --", "\ud800",
    "%ff%fe", "\u202e\u0000\ufeff", "😀" * 2000, "Robert'); DELETE FROM inbound_messages WHERE ('1'='1",
]
RAW_BODIES: list[tuple[bytes, str | None]] = [
    (b"", None),
    (b"\xff\xfe\xfd\x00\x80", "application/x-www-form-urlencoded"),
    (b"Body=%ff%fe%00&From=%00&MessageSid=%C0%AF", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\xfd", "application/json"),
    (b'{"update_id": ', "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a": "\\ud800"}', "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff", "multipart/form-data"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    (b"Body=hi", "application/x-www-form-urlencoded; charset=utf-16"),
    (b"<xml>&lt;</xml>", "text/xml"),
    (b"\x00" * 1000, "application/octet-stream"),
    (OVER_LIMIT, "application/x-www-form-urlencoded"),
]


def _public_routes(settings: Any) -> list[tuple[str, str]]:
    """(method, path) of every route anyone may call: each without a staff role guard (static files aside).

    Read from the app itself, so a new public route is attacked too.
    """
    import fastapi.routing

    from bot.staff.deps import RoleGuard
    from bot.web import create_app

    def guarded(dependant: Any) -> bool:
        return isinstance(dependant.call, RoleGuard) or any(guarded(sub) for sub in dependant.dependencies)

    app = create_app(settings)
    # Since FastAPI 0.137 app.routes holds included routers whole; before, include_router copied their routes in.
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = []
    for route in walk(app.routes) if walk else app.routes:
        dependant = getattr(route, "dependant", None)
        if dependant is None or guarded(dependant):
            continue
        path = re.sub(r"\{\w+(?::\w+)?\}", "1", route.path)
        routes += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return routes


def _hostile_requests(method: str, path: str, twilio: FakeTwilio) -> list[dict[str, Any]]:
    """Every hostile variant for one route: raw bodies, odd queries, and signed forms and updates full of junk."""
    out: list[dict[str, Any]] = []
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    if method == "GET":
        for query in ["session=%00&role=%ff", "session=" + "a" * 10_000, "after=-1&session=a",
                      "after=99999999999999999999999&session=a", "session=<script>&role=';--", "%ff%fe=%C0"]:
            out.append({"method": "GET", "url": f"{path}?{query}"})
        return out
    for body, content_type in RAW_BODIES:
        out.append({"method": method, "url": path, "content": body,
                    "headers": headers | ({"Content-Type": content_type} if content_type else {})})
    for text in NASTY_TEXTS:
        for payload in ({"session": "s", "text": text}, {"session": text, "text": "hi"},
                        {"session": "s", "text": "hi", "role": text, "message_id": text}, {"text": text},
                        {"session": "s", "text": "hi", "role": "referrer", "message_id": text}):
            # Encoded here, escaping as JSON may: a lone surrogate is legal JSON but not UTF-8.
            out.append({"method": method, "url": path, "content": json.dumps(payload).encode(),
                        "headers": headers | {"Content-Type": "application/json"}})
        if text != "\ud800":
            out.append({"method": method, "url": path, "data": {"email": text, "password": text, "csrf": text}})
    if path.startswith("/sms/"):
        out += _signed_junk(path, twilio)
    if path.startswith("/telegram/"):
        out += [{"method": method, "url": path, "content": json.dumps(update).encode(),
                 "headers": headers | {"Content-Type": "application/json"}} for update in _junk_updates()]
    return out


def _signed_junk(path: str, twilio: FakeTwilio) -> list[dict[str, Any]]:
    """Correctly signed Twilio forms whose fields are missing, empty, enormous or hostile."""
    from channels_support import PUBLIC_BASE_URL
    from fakes.twilio_api import signed_inbound
    from twilio.request_validator import RequestValidator

    out = []
    forms: list[dict[str, str]] = []
    for text in [t for t in NASTY_TEXTS if t != "\ud800"]:
        forms += [{"From": "+447700900999", "Body": text}, {"From": text, "Body": "hi"},
                  {"From": "whatsapp:" + text, "Body": "hi"},
                  {"From": "+447700900998", "Body": "hi", "MessageSid": text},
                  {"MessageSid": "SM1", "MessageStatus": text, "ErrorCode": text}]
    forms += [{"From": "", "Body": "hi"}, {"From": "whatsapp:", "Body": "hi"}, {"Body": "hi"},
              {"From": "+447700900997"}, {"From": "+447700900996", "Body": "hi", "MessageSid": ""}]
    for number, form in enumerate(forms):
        sid = form.pop("MessageSid", f"SMjunk{number:026d}")
        params, headers = signed_inbound(PUBLIC_BASE_URL + path, twilio.auth_token, From=form.pop("From", ""),
                                         To="+447700900000", Body=form.pop("Body", ""), MessageSid=sid, **form)
        params = {key: value for key, value in params.items() if value != "" or key == "MessageSid"}
        headers = {"X-Twilio-Signature": RequestValidator(twilio.auth_token).compute_signature(
            PUBLIC_BASE_URL + path, params)}
        out.append({"method": "POST", "url": path, "data": params, "headers": headers})
    return out


def _junk_updates() -> list[Any]:
    """Telegram updates that are well-formed JSON and nothing else."""
    message = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"}
    return [
        {"update_id": "abc", "message": message},
        {"update_id": 1},
        {"update_id": 2, "message": None},
        {"update_id": 3, "message": {"text": "hi"}},
        {"update_id": 4, "message": message | {"chat": {"id": "x" * 10_000, "type": "private"}}},
        {"update_id": 5, "message": message | {"text": ["a", "b"]}},
        {"update_id": 6, "message": message | {"text": "x" * 200_000}},
        {"update_id": 7, "message": message | {"text": "a\x00b<script>'; DROP TABLE referrals; --"}},
        {"update_id": 8, "callback_query": {"id": "q", "from": {"id": 5}, "data": "x" * 10_000}},
        {"update_id": 9, "message": message | {"contact": {"phone_number": "\x00" * 100, "first_name": "x"}}},
        {"update_id": 10, "message": message | {"contact": {}}},
        {"update_id": 2**80, "message": message},
        {"update_id": -1, "edited_message": message},
        {"update_id": 11, "message": message | {"chat": {"id": 2**80, "type": "private"}}},
        {"update_id": 12, "message": message | {"date": "yesterday"}},
        {"update_id": 13, **{f"field{n}": "x" * 100 for n in range(1000)}},
        [1, 2, 3],
        "update",
    ]


async def test_hostile_input_to_every_public_route_gets_a_4xx_or_a_kind_answer_and_the_server_keeps_serving(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any, env_for_cli: dict[str, Any], tmp_path: Path,
) -> None:
    from channels_support import channel_settings

    routes = _public_routes(channel_settings(database_url, fake_twilio, fake_telegram))
    assert {("POST", "/sms/inbound"), ("POST", "/telegram/webhook"), ("POST", "/simulator/message"),
            ("GET", "/healthz"), ("GET", "/staff/login"), ("POST", "/staff/login")} <= set(routes)
    failures: list[str] = []
    tried = 0
    with serving(provider_env(env_for_cli, fake_twilio, fake_telegram), tmp_path / "serve.log") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
            for method, path in routes:
                for request in _hostile_requests(method, path, fake_twilio):
                    tried += 1
                    try:
                        response = await http.request(**request)
                    except httpx.TransportError as exc:
                        failures.append(f"{method} {path}: no answer ({type(exc).__name__}) to {_described(request)}")
                        continue
                    # With the database up, "nothing was saved, send it again" would be a message lost.
                    if response.status_code >= 500 or "Traceback" in response.text or NOT_SAVED in response.text:
                        failures.append(f"{method} {path}: {response.status_code} to {_described(request)}")
                assert server.alive(), f"the server died on {method} {path}"
                assert (await http.get("/healthz")).status_code == 200, f"not healthy after {method} {path}"
            output = server.output()
    assert failures == [], "\n".join(failures[:40])
    assert "Traceback" not in output and "unhandled" not in output, output[-3000:]
    assert tried > 300


def _described(request: dict[str, Any]) -> str:
    shown = {key: value for key, value in request.items() if key not in ("method", "url")}
    return repr(shown)[:200]
