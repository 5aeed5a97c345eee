"""The audit log: every view, change and export, with who and when. Only ever added to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditEntry

__all__ = ["AuditFilter", "audit", "audit_actions", "audit_entries", "count_audit_entries"]

_Row = TypeVar("_Row")


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: each field narrows the log when set; `since` is inclusive, `until` exclusive."""

    actor: str | None = None
    action: str | None = None
    reference: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def audit(db: AsyncSession, actor: str, action: str, now: datetime, reference: str | None = None,
                detail: str = "") -> None:
    """Record one thing someone did. `detail` must carry nothing personal (statuses, filters, counts)."""
    db.add(AuditEntry(at=now, actor=actor, action=action, reference=reference, detail=detail[:300]))


def _where(query: Select[_Row], wanted: AuditFilter) -> Select[_Row]:
    if wanted.actor:
        query = query.where(AuditEntry.actor == wanted.actor.strip().lower())
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.reference:
        query = query.where(AuditEntry.reference == wanted.reference.strip().upper())
    if wanted.since is not None:
        query = query.where(AuditEntry.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEntry.at < wanted.until)
    return query


async def audit_entries(db: AsyncSession, wanted: AuditFilter = AuditFilter(), *, limit: int | None = 200,
                        offset: int = 0) -> list[AuditEntry]:
    """Matching entries, newest first; `limit=None` for all of them (the export)."""
    query = _where(select(AuditEntry), wanted).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list((await db.execute(query)).scalars())


async def count_audit_entries(db: AsyncSession, wanted: AuditFilter = AuditFilter()) -> int:
    return await db.scalar(_where(select(func.count()).select_from(AuditEntry), wanted)) or 0


async def audit_actions(db: AsyncSession) -> list[str]:
    """The actions the log holds, for the filter's list (the action column is indexed)."""
    return list((await db.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action))).scalars())
