"""A referral stored before questions were merged reads as today's on the staff pages and from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import login, make_user
from support import run_cli

from flows.channels import Channel
from store.referrals import create_referral

# As the questions before the merge stored it: each part under a key of its own.
OLD_DETAILS: dict[str, Any] = {
    "dob": "2006-02-14", "borough": "Lambeth", "gang_involved": True, "risks": ["harm from gangs"],
    "motivated": True, "willing": True, "extensive_support": False, "services_local": False,
    "referrer_name": "Sam Okafor", "referrer_role": "Youth worker", "referrer_org": "Redthread Hackney",
    "referrer_phone": "+447700900123", "referrer_email": "sam@example.org", "relationship": "their youth worker",
    "yp_name": {"given": "Jay Smith", "first": "Jay", "last": "Smith"}, "yp_known_as": "JJ", "yp_gender": "male",
    "yp_mobile": "+447700900456", "yp_language": {"language": "English", "interpreter": False},
    "consent": {"agreed": True, "given_by": "young person, as told by the referrer", "at": "2026-11-25T10:00:00+00:00"},
    "safe_contact": {"text": True, "call": False, "voicemail": False}, "best_times": "after 4pm",
    "risk_history": ["stabbed or shot"], "risk_note": "threats", "needs": ["housing"], "specialist": ["mental health"],
    "agencies": {"social care": True, "youth justice/probation": False, "police": True, "housing": False,
                 "mental health": False},
    "urgency": "soon", "notes": "prefers a male worker",
}


async def _old_referral(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as db, db.begin():
        await create_referral(db, reference="LGX-OLD01", channel=Channel.SMS, details=OLD_DETAILS, borough="Lambeth",
                              age=20, urgency="soon", referrer_hash="x", safeguarding_flag=False,
                              now=datetime.now(UTC))


async def test_an_old_referral_shows_every_answer_on_its_page_and_its_organisation_in_the_queue(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _old_referral(sessions)
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")
    queue = (await client.get("/staff/queue", params={"view": "all"})).text
    assert "Redthread Hackney" in queue
    page = (await client.get("/staff/referrals/LGX-OLD01")).text
    for shown in ("Youth worker (organisation and team: Redthread Hackney)", "known as: JJ",
                  "07700 900456. Safe to text: yes; call: no; voicemail: no. Best times: after 4pm",
                  "housing, mental health", "Stabbed or shot. Note: threats",
                  "Soon. Anything else: prefers a male worker"):
        assert shown in page, shown


async def test_an_old_referral_is_shown_in_todays_shapes_by_the_command_line(
    sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    await _old_referral(sessions)
    shown = await run_cli(env_for_cli, "referrals", "show", "LGX-OLD01", "--json")
    assert shown.returncode == 0, shown.stderr
    details = json.loads(shown.stdout)["details"]
    assert details["referrer_job"] == {"role": "Youth worker", "org": "Redthread Hackney"}
    assert details["yp_contact"]["mobile"] == "+447700900456" and details["yp_name"]["known_as"] == "JJ"
    assert details["urgency_notes"] == {"level": "soon", "notes": "prefers a male worker"}
    assert "referrer_org" not in details and "yp_mobile" not in details
