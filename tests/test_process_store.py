"""The process against the real database: two people claiming at once, and the history it leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support import WHOLE_REFERRAL, chat

from bot.actions import Actor, act
from bot.settings import Settings
from flows.process import Action, Refused, Role
from store.models import AuditEntry, OutboundMessage, Referral, ReferralEvent


async def test_two_people_claiming_at_once_get_one_claim_and_one_clear_refusal(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    reference = (await chat(client, "race", WHOLE_REFERRAL))[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]

    async def claim(who: str) -> str:
        try:
            async with sessions() as db, db.begin():
                await act(db, settings, reference, Action.CLAIM, Actor(who, Role.UNIT), datetime.now(UTC))
            return "claimed"
        except Refused as exc:
            return str(exc)

    results = await asyncio.gather(claim("a@unit.example.org"), claim("b@unit.example.org"))
    assert sorted(results) == ["Someone else is already reviewing this referral.", "claimed"]
    async with sessions() as db:
        referral = (await db.execute(select(Referral))).scalar_one()
        events = (await db.execute(select(ReferralEvent.action))).scalars().all()
        claims = (await db.execute(select(AuditEntry).where(AuditEntry.action == "claim"))).scalars().all()
    assert referral.status == "in_review" and referral.reviewer in ("a@unit.example.org", "b@unit.example.org")
    assert events == ["claim"] and len(claims) == 1


async def test_the_referrers_answer_goes_into_the_history_and_the_audit_log_and_back_to_review(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    reference = (await chat(client, "asked", WHOLE_REFERRAL))[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
    reviewer = Actor("a@unit.example.org", Role.UNIT)
    async with sessions() as db, db.begin():
        await act(db, settings, reference, Action.CLAIM, reviewer, datetime.now(UTC))
        await act(db, settings, reference, Action.REQUEST_INFO, reviewer, datetime.now(UTC), question="School?")
    assert await chat(client, "asked", ["Yes, year 12"], prefix="answer") == [
        [f"Thank you, that is added to referral {reference}."]]
    async with sessions() as db:
        referral = (await db.execute(select(Referral))).scalar_one()
        event = (await db.execute(select(ReferralEvent).order_by(ReferralEvent.id.desc()).limit(1))).scalar_one()
        entry = (await db.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))).scalar_one()
        told = (await db.execute(select(OutboundMessage.purpose))).scalars().all()
    assert (referral.status, referral.reviewer) == ("in_review", "a@unit.example.org")
    assert (event.actor, event.action, event.status_after, event.note) == (
        "referrer", "info_received", "in_review", "Yes, year 12")
    assert (entry.actor, entry.action, entry.reference, entry.detail) == (
        "referrer", "info_received", reference, "more_info_requested -> in_review")
    assert told == ["decision"]  # the question; the referrer's answer itself sends them nothing more
    # Answered once: the next message is not taken for another answer.
    assert await chat(client, "asked", ["And he likes football"], prefix="later") != [
        [f"Thank you, that is added to referral {reference}."]]
