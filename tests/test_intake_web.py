"""A whole referral through the simulator endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import html
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import login, make_user
from support import LONDON, PERSONAL, REFERRAL_ANSWERS, SCREENED_OUT, WHOLE_REFERRAL, answering, chat, run_cli

from bot.settings import Settings
from bot.web import create_app
from flows.questions import MASH_FLAG, MASH_REMINDER
from store.models import Conversation, InboundMessage, Referral, SafeguardingAlert, ScreenOut


async def test_whole_referral_ends_queued_and_listed_by_the_cli(
    client: httpx.AsyncClient, env_for_cli: dict[str, Any]
) -> None:
    replies = await chat(client, "whole", WHOLE_REFERRAL)
    receipt = replies[-1][0]
    assert "received and queued" in receipt
    reference = receipt.split("Referral ", 1)[1].split(" ", 1)[0]

    listed = await run_cli(env_for_cli, "referrals", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["reference"], r["status"], r["borough"]) for r in rows] == [(reference, "queued", "Lambeth")]
    assert rows[0]["created_at"]

    shown = await run_cli(env_for_cli, "referrals", "show", reference, "--json")
    assert shown.returncode == 0, shown.stderr
    details = json.loads(shown.stdout)["details"]
    assert details["yp_name"]["first"] == PERSONAL["yp_first_name"]
    assert details["yp_name"]["last"] == PERSONAL["yp_last_name"]
    assert details["referrer_phone"] == "+447700900123"
    assert details["needs"] == ["gang activity", "housing", "education/training/work", "mental health"]


async def test_the_same_message_id_twice_gives_identical_replies_and_changes_nothing(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(client, "dup", ["hi"])
    body = {"session": "dup", "role": "referrer", "text": "14/02/2006", "message_id": "provider-42"}
    first = (await client.post("/simulator/message", json=body)).json()
    again = (await client.post("/simulator/message", json=body)).json()
    assert first == again
    assert "borough" in first["replies"][0]
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(InboundMessage)) == 2
        conversation = (await db.execute(select(Conversation))).scalar_one()
        assert conversation.state == "borough"


async def test_a_burst_of_one_message_id_is_handled_once(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(client, "burst", ["hi"])
    body = {"session": "burst", "role": "referrer", "text": "14/02/2006", "message_id": "provider-burst"}
    results = await asyncio.gather(*(client.post("/simulator/message", json=body) for _ in range(8)))
    assert {r.status_code for r in results} == {200}
    assert len({json.dumps(r.json()) for r in results}) == 1
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(InboundMessage)) == 2
        assert (await db.execute(select(Conversation.state))).scalar_one() == "borough"


async def test_a_screened_out_referral_keeps_only_the_reason_and_the_day(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    replies = await chat(client, "young", SCREENED_OUT)
    assert "ages 16 to 24" in replies[-1][0]
    async with sessions() as db:
        outs = (await db.execute(select(ScreenOut))).scalars().all()
        assert [o.reason for o in outs] == ["too_young"]
        assert await db.scalar(select(func.count()).select_from(Referral)) == 0
        bodies = (await db.execute(select(InboundMessage.body))).scalars().all()
        assert bodies == [None, None]
        conversation = (await db.execute(select(Conversation))).scalar_one()
        assert conversation.draft is not None and conversation.draft["answers"] == {}


async def test_healthz_answers_ok_while_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_simulator_refuses_malformed_requests_clearly(client: httpx.AsyncClient) -> None:
    response = await client.post("/simulator/message", json={"session": "bad id!", "text": "hi"})
    assert response.status_code == 422
    response = await client.post("/simulator/message", json={"session": "ok", "text": "x" * 5000})
    assert response.status_code == 422
    assert response.json()["problems"] == [{"field": "text", "problem": "String should have at most 1600 characters"}]
    assert "xxxx" not in response.text  # what was sent is never echoed back
    # Not even text: a lone surrogate is valid JSON but no string can hold it.
    response = await client.post("/simulator/message", content=b'{"session": "ok", "text": "\\ud800"}',
                                 headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["problems"][0]["field"] == "text"
    response = await client.post(
        "/simulator/message", content=b"\xff\xfe not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400  # not JSON at all


async def test_simulator_page_is_marked_as_a_test_tool(client: httpx.AsyncClient) -> None:
    page = await client.get("/simulator")
    assert page.status_code == 200
    assert "Test tool" in page.text


async def test_danger_mid_referral_flags_the_referral_and_records_an_alert(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    texts = [*WHOLE_REFERRAL[:4], "they've got a knife and are outside now", *WHOLE_REFERRAL[4:]]
    replies = await chat(client, "danger", texts)
    assert "999" in replies[4][0]
    assert replies[4][1].startswith("Do they show some motivation")  # the question stands
    assert "queued" in replies[-1][0]
    async with sessions() as db:
        referral = (await db.execute(select(Referral))).scalar_one()
        alerts = (await db.execute(select(SafeguardingAlert))).scalars().all()
        conversation = (await db.execute(select(Conversation))).scalar_one()
    assert referral.safeguarding_flag is True
    assert [(a.state, a.channel) for a in alerts] == [("ready", "simulator")]
    assert conversation.flagged is False  # the next referral from this sender starts unflagged


async def test_a_referral_without_danger_is_not_flagged(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(client, "calm", WHOLE_REFERRAL)
    async with sessions() as db:
        assert (await db.execute(select(Referral.safeguarding_flag))).scalar_one() is False


async def test_the_simulator_can_be_switched_off(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"simulator_enabled": False}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/simulator")).status_code == 404
            assert (await http.post("/simulator/message", json={"session": "a", "text": "hi"})).status_code == 404
            assert (await http.get("/healthz")).status_code == 200


async def test_messages_the_bot_starts_reach_the_simulators_inbox(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import UTC, datetime

    from bot.actions import Actor, act
    from flows.process import Action, Role

    replies = await chat(client, "inbox", WHOLE_REFERRAL)
    reference = replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
    assert (await client.get("/simulator/inbox", params={"session": "inbox"})).json() == {"messages": []}
    async with sessions() as db, db.begin():
        await act(db, settings, reference, Action.CLAIM, Actor("cli", Role.ADMIN), datetime.now(UTC))
        await act(db, settings, reference, Action.REQUEST_INFO, Actor("cli", Role.ADMIN), datetime.now(UTC),
                  question="Are they at school?")
    inbox: list[dict[str, object]] = []
    for _ in range(100):  # the app's dispatcher delivers it within its poll interval
        inbox = (await client.get("/simulator/inbox", params={"session": "inbox"})).json()["messages"]
        if inbox:
            break
        await asyncio.sleep(0.05)
    assert [m["text"] for m in inbox] == [f"About referral {reference}, the referral unit asks: Are they at school? "
                                          "Please reply here."]
    answered = await chat(client, "inbox", ["Yes, year 12"], prefix="answer")
    assert answered == [[f"Thank you, that is added to referral {reference}."]]
    later = await client.get("/simulator/inbox", params={"session": "inbox", "after": inbox[-1]["id"]})
    assert later.json() == {"messages": []}


async def test_an_under_18_with_no_mash_referral_is_reminded_once_and_the_unit_sees_the_flag_and_the_name(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    seventeen = (datetime.now(LONDON).date() - timedelta(days=365 * 17)).strftime("%d/%m/%Y")
    texts = answering({**REFERRAL_ANSWERS, "dob": seventeen, "mash": "n"})
    replies = await chat(client, "mash", texts)
    assert [reply for answer in replies for reply in answer].count(MASH_REMINDER) == 1
    reference = replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]

    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")
    page = html.unescape((await client.get(f"/staff/referrals/{reference}")).text)
    assert MASH_FLAG in page
    assert "Jaylen Featherstonehaugh (first name: Jaylen; last name: Featherstonehaugh)" in page
    calm = html.unescape((await client.get(f"/staff/referrals/{await _a_whole_referral(client)}")).text)
    assert MASH_FLAG not in calm


async def _a_whole_referral(client: httpx.AsyncClient) -> str:
    replies = await chat(client, "calm-mash", WHOLE_REFERRAL)
    return replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
