"""The audit log: every view, change and export, with who and when. Only ever added to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditEntry

__all__ = ["audit", "audit_entries"]


async def audit(db: AsyncSession, actor: str, action: str, now: datetime, reference: str | None = None,
                detail: str = "") -> None:
    """Record one thing someone did. `detail` must carry nothing personal (statuses, filters, counts)."""
    db.add(AuditEntry(at=now, actor=actor, action=action, reference=reference, detail=detail[:300]))


async def audit_entries(db: AsyncSession, *, actor: str | None = None, action: str | None = None,
                        reference: str | None = None, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    if actor:
        query = query.where(AuditEntry.actor == actor.strip().lower())
    if action:
        query = query.where(AuditEntry.action == action)
    if reference:
        query = query.where(AuditEntry.reference == reference.strip().upper())
    return list((await db.execute(query)).scalars())
