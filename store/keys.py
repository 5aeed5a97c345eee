"""Key rotation: every encrypted value and every keyed hash moved to the current data key, a batch at a time.

How a rotation goes (the README has the commands):
1. A new key goes first in DATA_KEY, the old one after it, and every process is restarted: from then
   on everything is written under the new key, and read under either.
2. `referral-bot rotate-key` calls `rotate_step()` until it says finished. Each step is one short
   transaction over one batch of one table, and records how far it got (the `key_rotation` table),
   so a stopped run carries on where it was and the app keeps serving meanwhile.
3. The old key is removed from DATA_KEY.

While the app serves: values are rewritten only if they are still what the batch read
(compare-and-set), so a value the app wrote meanwhile (always under the current key) is never
overwritten with an older one. Look-ups by keyed hash try the hash under every configured key
(`keyed_hashes`), so a row is found before and after its hash is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from flows.combined import mobile_of
from store import crypto
from store.contacts import address_hash
from store.conversations import sender_hash
from store.models import Base, KeyRotation
from store.referrals import referrer_hash, young_person_hash
from store.same_person import young_person_name_hash
from store.types import ROW_UID, Encrypted

__all__ = ["BLIND_INDEXES", "TABLES", "RotationError", "RotationStep", "rotate_step", "values_by_key"]

_KEEP = object()


class RotationError(RuntimeError):
    """A stored value could not be read for rotation: a key is missing from DATA_KEY, or the value was altered."""


@dataclass(frozen=True)
class BlindIndex:
    """A keyed-hash column and how to compute it from the row's plain values (`_KEEP`: leave it as it is)."""

    column: str
    compute: Callable[[Mapping[str, Any]], Any]
    plain: tuple[str, ...] = ()


def _origin(row: Mapping[str, Any]) -> Any:
    # Referrals from before origin addresses were kept have neither the address nor its hash.
    return _KEEP if row["origin_address"] is None else sender_hash(row["channel"], row["origin_address"])


def _young_person(row: Mapping[str, Any]) -> str | None:
    mobile = mobile_of(row["details"])
    return young_person_hash(mobile) if mobile else None


# Every keyed hash the app stores, computed exactly as the app computes it when it writes the row.
BLIND_INDEXES: dict[str, tuple[BlindIndex, ...]] = {
    "conversations": (BlindIndex("sender_hash", lambda row: sender_hash(row["channel"], row["sender"]), ("channel",)),),
    "contacts": (BlindIndex("address_hash", lambda row: address_hash(row["channel"], row["address"]), ("channel",)),),
    "remembered_referrers": (
        BlindIndex("sender_hash", lambda row: sender_hash(row["channel"], row["sender"]), ("channel",)),
    ),
    "referrals": (
        BlindIndex("origin_hash", _origin, ("channel",)),
        BlindIndex("referrer_hash", lambda row: referrer_hash(row["details"].get("referrer_phone") or "")),
        BlindIndex("yp_phone_hash", _young_person),
        BlindIndex("yp_name_hash", lambda row: young_person_name_hash(row["details"])),
    ),
}


@dataclass(frozen=True)
class _Plan:
    name: str
    encrypted: tuple[tuple[str, Encrypted], ...]
    indexes: tuple[BlindIndex, ...]

    @cached_property
    def table(self) -> sa.TableClause:
        """The table with raw types: ciphertexts are read and written as bytes, untouched by the column types."""
        columns: list[sa.ColumnClause[Any]] = [sa.column("id", sa.Integer), sa.column(ROW_UID, sa.String)]
        columns += [sa.column(name, sa.LargeBinary) for name, _ in self.encrypted]
        columns += [sa.column(index.column, sa.String) for index in self.indexes]
        columns += [sa.column(name, sa.String) for name in sorted({p for index in self.indexes for p in index.plain})]
        return sa.table(self.name, *columns)


def _plans() -> tuple[_Plan, ...]:
    plans = []
    for table in Base.metadata.sorted_tables:
        encrypted = tuple((column.name, column.type) for column in table.columns if isinstance(column.type, Encrypted))
        if encrypted:
            plans.append(_Plan(table.name, encrypted, BLIND_INDEXES.get(table.name, ())))
    return tuple(plans)


TABLES = _plans()


@dataclass(frozen=True)
class RotationStep:
    """What one step did: one batch of one table, or the final check."""

    table: str | None = None
    rows: int = 0
    resealed: int = 0
    rehashed: int = 0
    finished: bool = False
    # Values found under another key after every table was done: those tables go round again.
    stray: dict[str, int] = field(default_factory=dict)


async def rotate_step(db: AsyncSession, now: datetime, batch_size: int = 200) -> RotationStep:
    """Move the next batch to the current key, in the caller's transaction; `finished` when none is left."""
    key_id = crypto.current_key_id()
    found = await db.execute(sa.select(KeyRotation).with_for_update())
    progress = {row.table_name: row for row in found.scalars()}
    for plan in TABLES:
        mark = progress.get(plan.name)
        if mark is None:
            mark = KeyRotation(table_name=plan.name, key_id=key_id, last_id=0, done=False, updated_at=now)
            db.add(mark)
        elif mark.key_id != key_id:  # a rotation to another key was under way: start this one afresh
            mark.key_id, mark.last_id, mark.done = key_id, 0, False
        if mark.done:
            continue
        step = await _rotate_batch(db, plan, mark.last_id, batch_size)
        mark.last_id = max(mark.last_id, step.last_id)
        mark.done = step.rows < batch_size
        mark.updated_at = now
        return RotationStep(plan.name, step.rows, step.resealed, step.rehashed)
    stray = {table: count for table, count in (await _not_current(db)).items() if count}
    for table in stray:
        # Written under an older key after this table was done: a process still had the old DATA_KEY.
        progress[table].last_id, progress[table].done, progress[table].updated_at = 0, False, now
    return RotationStep(finished=not stray, stray=stray)


@dataclass(frozen=True)
class _Batch:
    rows: int
    last_id: int
    resealed: int
    rehashed: int


async def _rotate_batch(db: AsyncSession, plan: _Plan, after_id: int, batch_size: int) -> _Batch:
    table = plan.table
    rows = (await db.execute(sa.select(table).where(table.c.id > after_id).order_by(table.c.id)
                             .limit(batch_size))).mappings().all()
    changes: dict[str, list[dict[str, Any]]] = {}
    resealed = rehashed = 0
    for row in rows:
        plain: dict[str, Any] = dict(row)
        for name, column_type in plan.encrypted:
            raw = row[name]
            if raw is None:
                continue
            raw = bytes(raw)
            try:
                opened = crypto.decrypt(raw, column_type.purpose, row[ROW_UID])
            except crypto.DecryptionError as exc:
                raise RotationError(f"{plan.name} row {row['id']}: {exc}") from None
            plain[name] = column_type.decode(opened)
            if not crypto.is_current(raw):
                new = crypto.encrypt(opened, column_type.purpose, row[ROW_UID])
                changes.setdefault(name, []).append({"row_id": row["id"], "old_value": raw, "new_value": new})
                resealed += 1
        for index in plan.indexes:
            new = index.compute(plain)
            if new is not _KEEP and new != row[index.column]:
                changes.setdefault(index.column, []).append(
                    {"row_id": row["id"], "old_value": row[index.column], "new_value": new})
                rehashed += 1
    for name, params in changes.items():
        column = table.c[name]
        # Compare-and-set: a value the app changed since it was read is the app's, under the current key.
        await db.execute(sa.update(table)
                         .where(table.c.id == sa.bindparam("row_id"),
                                column.is_not_distinct_from(sa.bindparam("old_value", type_=column.type)))
                         .values({name: sa.bindparam("new_value", type_=column.type)}), params)
    return _Batch(len(rows), rows[-1]["id"] if rows else after_id, resealed, rehashed)


async def values_by_key(db: AsyncSession) -> dict[str, int]:
    """How many stored values each key id wrote ("unkeyed" for values from before keys had ids)."""
    counts: dict[str, int] = {}
    for plan in TABLES:
        table = plan.table
        for name, _ in plan.encrypted:
            column = table.c[name]
            head = sa.func.substr(column, 1, 5)
            found = await db.execute(sa.select(head, sa.func.count()).where(column.is_not(None)).group_by(head))
            for prefix, count in found:
                key_id = crypto.key_id_of(bytes(prefix))
                counts[key_id or "unkeyed"] = counts.get(key_id or "unkeyed", 0) + count
    return counts


async def _not_current(db: AsyncSession) -> dict[str, int]:
    """Per table, how many values are not under the current key."""
    prefix = sa.literal(crypto.current_prefix(), sa.LargeBinary)
    counts: dict[str, int] = {}
    for plan in TABLES:
        table = plan.table
        stale = sa.or_(*(sa.and_(table.c[name].is_not(None), sa.func.substr(table.c[name], 1, 5) != prefix)
                         for name, _ in plan.encrypted))
        counts[plan.name] = int(await db.scalar(sa.select(sa.func.count()).select_from(table).where(stale)) or 0)
    return counts
