"""Retention: expired drafts, declined and closed referrals and finished messages go; everything else stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support import SCREENED_OUT, WHOLE_REFERRAL, chat

from bot.settings import Settings
from flows.channels import Channel
from flows.simulator_addresses import simulated_young_person_sender, simulator_sender
from store.audit import audit
from store.contacts import contact_for, set_opted_out
from store.models import (
    AuditEntry,
    Contact,
    ContactEvent,
    Conversation,
    OutboundMessage,
    Referral,
    ReferralEvent,
    ScreenOut,
)
from store.outbox import enqueue
from store.retention import RetentionCounts, purge_expired
from store.users import create_user

DAY = timedelta(days=1)


async def _reference(client: httpx.AsyncClient, session: str) -> str:
    replies = await chat(client, session, WHOLE_REFERRAL)
    return replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]


async def _set(db: AsyncSession, reference: str, **values: Any) -> None:
    await db.execute(update(Referral).where(Referral.reference == reference).values(**values))
    referral_id = await db.scalar(select(Referral.id).where(Referral.reference == reference))
    for n in range(2):
        db.add(ReferralEvent(referral_id=referral_id, at=values.get("updated_at", datetime.now(UTC)), actor="unit@x",
                             action="claim", status_after="in_review", note=f"event {n}"))


async def _purge(sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> RetentionCounts:
    async with sessions() as db, db.begin():
        return await purge_expired(db, now, draft_ttl_hours=settings.draft_ttl_hours,
                                   declined_days=settings.declined_retention_days,
                                   closed_days=settings.closed_retention_days)


async def _references(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as db:
        return set((await db.execute(select(Referral.reference))).scalars())


async def test_only_declined_and_closed_referrals_past_their_retention_are_deleted_with_their_history(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    now = datetime.now(UTC)
    declined, closed = settings.declined_retention_days, settings.closed_retention_days
    names = ["old_declined", "old_declined_undated", "recent_declined", "old_closed", "old_closed_undated",
             "recent_closed", "old_accepted", "old_allocated", "old_queued", "fresh"]
    refs = {name: await _reference(client, name) for name in names}
    await chat(client, "young", SCREENED_OUT)
    long_ago = now - 5 * 365 * DAY
    async with sessions() as db, db.begin():
        await _set(db, refs["old_declined"], status="declined", decided_at=now - (declined + 1) * DAY,
                   updated_at=now - 10 * DAY)
        await _set(db, refs["old_declined_undated"], status="declined", decided_at=None,
                   updated_at=now - (declined + 1) * DAY)
        await _set(db, refs["recent_declined"], status="declined", decided_at=now - (declined - 1) * DAY,
                   updated_at=long_ago)
        await _set(db, refs["old_closed"], status="closed", closed_at=now - (closed + 1) * DAY,
                   decided_at=long_ago, updated_at=now - DAY)
        await _set(db, refs["old_closed_undated"], status="closed", closed_at=None,
                   updated_at=now - (closed + 1) * DAY)
        await _set(db, refs["recent_closed"], status="closed", closed_at=now - (closed - 1) * DAY,
                   decided_at=long_ago, updated_at=long_ago)
        for name, status in (("old_accepted", "accepted"), ("old_allocated", "allocated"),
                             ("old_queued", "queued")):
            await _set(db, refs[name], status=status, created_at=long_ago, updated_at=long_ago,
                       decided_at=long_ago if status != "queued" else None)
        await _set(db, refs["fresh"], status="queued")
        await db.execute(update(ScreenOut).values(screened_on=long_ago.date()))
        await audit(db, "unit@x", "view", long_ago, refs["old_declined"])
    async with sessions() as db:
        kept_audit = await db.scalar(select(func.count()).select_from(AuditEntry))

    counts = await _purge(sessions, settings, now)

    gone = {refs[name] for name in ("old_declined", "old_declined_undated", "old_closed", "old_closed_undated")}
    assert (counts.declined, counts.closed) == (2, 2)
    assert await _references(sessions) == set(refs.values()) - gone
    async with sessions() as db:
        with_history = set((await db.execute(
            select(Referral.reference).join(ReferralEvent, ReferralEvent.referral_id == Referral.id))).scalars())
        orphans = await db.scalar(select(func.count()).select_from(ReferralEvent).where(
            ReferralEvent.referral_id.not_in(select(Referral.id))))
        events = await db.scalar(select(func.count()).select_from(ReferralEvent))
        screen_outs = (await db.execute(select(ScreenOut.reason))).scalars().all()
        entries = (await db.execute(select(AuditEntry.action, AuditEntry.reference))).all()
    assert with_history == set(refs.values()) - gone
    assert orphans == 0 and events == 2 * (len(names) - len(gone))
    assert screen_outs == ["too_young"]
    # Nothing in the audit log went; each deleted referral left a line saying so.
    assert len(entries) == kept_audit + len(gone)
    assert ("view", refs["old_declined"]) in entries
    assert {reference for action, reference in entries if action == "purged"} == gone

    assert (await _purge(sessions, settings, now)).total == 0  # a second run finds nothing more


async def test_idle_drafts_and_their_message_logs_go_after_the_draft_ttl(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    now = datetime.now(UTC)
    await chat(client, "idle", WHOLE_REFERRAL[:4])
    await chat(client, "active", WHOLE_REFERRAL[:4])
    async with sessions() as db, db.begin():
        conversations = (await db.execute(select(Conversation.id).order_by(Conversation.id))).scalars().all()
        idle, active = conversations
        await db.execute(update(Conversation).where(Conversation.id == idle)
                         .values(updated_at=now - (settings.draft_ttl_hours + 1) * timedelta(hours=1)))

    counts = await _purge(sessions, settings, now)

    assert counts.conversations == 1
    async with sessions() as db:
        assert (await db.execute(select(Conversation.id))).scalars().all() == [active]


async def test_finished_outbound_messages_go_after_the_closed_period_and_unsent_ones_stay(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    now = datetime.now(UTC)
    old = now - (settings.closed_retention_days + 1) * DAY
    async with sessions() as db, db.begin():
        made = {}
        for name, status, when in (("old_delivered", "delivered", old), ("old_failed", "failed", old),
                                   ("old_suppressed", "suppressed", old), ("old_pending", "pending", old),
                                   ("old_sending", "sending", old), ("new_delivered", "delivered", now)):
            message = await enqueue(db, channel="sms", to="+447700900999", body=f"Message {name}",
                                    purpose="test", now=when)
            assert message is not None
            message.status = status
            made[name] = message.id

    counts = await _purge(sessions, settings, now)

    assert counts.outbound == 3
    async with sessions() as db:
        left = set((await db.execute(select(OutboundMessage.id))).scalars())
    assert left == {made["old_pending"], made["old_sending"], made["new_delivered"]}


async def test_nothing_is_deleted_when_nothing_has_expired(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    reference = await _reference(client, "one")
    async with sessions() as db, db.begin():
        await _set(db, reference, status="declined", decided_at=datetime.now(UTC))
    counts = await _purge(sessions, settings, datetime.now(UTC))
    assert counts == RetentionCounts(conversations=0, messages=0, declined=0, closed=0, outbound=0)
    assert await _references(sessions) == {reference}


async def test_contacts_go_with_the_last_message_conversation_or_referral_that_needs_them(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    now = datetime.now(UTC)
    reference = await _reference(client, "referrer-1")
    young_person = simulated_young_person_sender("+447700900456")  # the referral's young person, in the simulator
    long_ago = now - 30 * DAY
    async with sessions() as db, db.begin():
        await create_user(db, "caseworker@example.org", "caseworker", "Casey", now)
        made = {}
        for name, channel, address in (
            ("stranger", Channel.SMS, "+447700900001"),
            ("opted_out_stranger", Channel.SMS, "+447700900002"),
            ("referrer", Channel.SIMULATOR, simulator_sender("referrer", "referrer-1")),
            ("young_person", Channel.SIMULATOR, young_person),
            ("staff", Channel.EMAIL, "caseworker@example.org"),
            ("with_message", Channel.SMS, "+447700900003"),
        ):
            made[name] = (await contact_for(db, channel, address, long_ago)).id
        opted_out = await db.get(Contact, made["opted_out_stranger"])
        assert opted_out is not None
        await set_opted_out(db, opted_out, True, long_ago)
        made["recent_stranger"] = (await contact_for(db, Channel.SMS, "+447700900004", now)).id
        assert await enqueue(db, channel=Channel.SMS, to="+447700900003", body="Hello", purpose="test", now=long_ago)

    counts = await _purge(sessions, settings, now)

    assert counts.contacts == 2
    assert await _contact_ids(sessions) == set(made.values()) - {made["stranger"], made["opted_out_stranger"]}
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(ContactEvent)) == 0  # the opt-out history went too

    # Once the referral and the chat it came from are gone, so are the referrer's and the young person's contacts.
    async with sessions() as db, db.begin():
        await db.execute(delete(Referral).where(Referral.reference == reference))
        await db.execute(delete(Conversation))
    assert (await _purge(sessions, settings, now)).contacts == 2
    assert await _contact_ids(sessions) == {made["staff"], made["with_message"], made["recent_stranger"]}


async def _contact_ids(sessions: async_sessionmaker[AsyncSession]) -> set[int]:
    async with sessions() as db:
        return set((await db.execute(select(Contact.id))).scalars())
