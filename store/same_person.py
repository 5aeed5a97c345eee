"""Possible referrals of the same young person: found at submission by keyed hashes, decided by the unit.

Two referrals are possibly one young person when they share the date of birth and a name that sounds
the same (flows/same_person.py), or the young person's mobile. Both are compared as keyed hashes (blind
indexes), never as plain values: `referrals.yp_name_hash` and `referrals.yp_phone_hash`, each looked up
under every configured key so a rotation under way misses nothing. Simulator referrals are matched
only with each other, as the simulator lives in its own world.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flows.channels import Channel
from flows.process import Refused
from flows.same_person import Decision, name_key
from store.crypto import keyed_hash, keyed_hashes
from store.models import PossibleDuplicate, Referral

__all__ = [
    "MAX_MATCHES",
    "Likeness",
    "decide",
    "likenesses",
    "record_possible_duplicates",
    "young_person_name_hash",
    "young_person_name_hashes",
]

_PURPOSE = "young_person_name_dob"
# Enough for any young person referred again and again; a number shared by many (a hostel's) stops here.
MAX_MATCHES = 20


def young_person_name_hash(details: Mapping[str, Any]) -> str | None:
    """The keyed hash of the date of birth and how the name sounds, as stored in referrals.yp_name_hash."""
    key = name_key(details)
    return None if key is None else keyed_hash(key, _PURPOSE)


def young_person_name_hashes(details: Mapping[str, Any]) -> list[str]:
    """That hash under every configured key, current first (none when the details lack a name or birth date)."""
    key = name_key(details)
    return [] if key is None else keyed_hashes(key, _PURPOSE)


def _same_world(referral: Referral) -> ColumnElement[bool]:
    if referral.channel == Channel.SIMULATOR:
        return Referral.channel == Channel.SIMULATOR
    return Referral.channel != Channel.SIMULATOR


async def record_possible_duplicates(db: AsyncSession, referral: Referral, phone_hashes: list[str],
                                     now: datetime) -> list[PossibleDuplicate]:
    """Find earlier referrals possibly of this referral's young person, and keep each pair for the unit to decide.

    `phone_hashes` is the young person's mobile hashed under every key (store.referrals.young_person_hashes),
    empty when the referral has none.
    """
    name_hashes = young_person_name_hashes(referral.details)
    alike = []
    if name_hashes:
        alike.append(Referral.yp_name_hash.in_(name_hashes))
    if phone_hashes:
        alike.append(Referral.yp_phone_hash.in_(phone_hashes))
    if not alike:
        return []
    found = await db.execute(
        select(Referral.id, Referral.yp_name_hash, Referral.yp_phone_hash)
        .where(Referral.id != referral.id, _same_world(referral), or_(*alike))
        .order_by(Referral.created_at.desc(), Referral.id.desc()).limit(MAX_MATCHES))
    pairs = [PossibleDuplicate(referral_id=referral.id, same_as_id=row.id, found_at=now,
                               by_name=row.yp_name_hash in name_hashes, by_mobile=row.yp_phone_hash in phone_hashes)
             for row in found]
    db.add_all(pairs)
    await db.flush()
    return pairs


@dataclass(frozen=True)
class Likeness:
    """Another referral possibly of the same young person, as the unit sees it from this one."""

    pair_id: int
    reference: str
    by_name: bool
    by_mobile: bool
    decision: Decision | None
    decided_by: str | None
    decided_at: datetime | None


async def likenesses(db: AsyncSession, referral_id: int) -> list[Likeness]:
    """Every referral flagged as possibly the same young person as this one, either way round, oldest first."""
    other = aliased(Referral)
    pair = PossibleDuplicate
    found = await db.execute(
        select(pair, other.reference)
        .join(other, or_(
            (pair.referral_id == referral_id) & (other.id == pair.same_as_id),
            (pair.same_as_id == referral_id) & (other.id == pair.referral_id)))
        .order_by(other.created_at, other.id))
    return [Likeness(row.id, reference, row.by_name, row.by_mobile, row.decision, row.decided_by, row.decided_at)
            for row, reference in found]


async def decide(db: AsyncSession, referral_id: int, pair_id: int, decision: Decision, actor: str,
                 now: datetime) -> str:
    """Record the unit's decision on one pair seen from this referral; the other referral's reference.

    Refused when there is no such pair for this referral, or someone has already decided it.
    """
    found = await db.execute(
        select(PossibleDuplicate)
        .where(PossibleDuplicate.id == pair_id,
               or_(PossibleDuplicate.referral_id == referral_id, PossibleDuplicate.same_as_id == referral_id))
        .with_for_update().execution_options(populate_existing=True))
    pair = found.scalar_one_or_none()
    if pair is None:
        raise Refused("That possible match is no longer there.")
    if pair.decision is not None:
        raise Refused(f"{pair.decided_by} has already decided this: {pair.decision.label.lower()}.")
    pair.decision, pair.decided_by, pair.decided_at = decision, actor, now
    other_id = pair.same_as_id if pair.referral_id == referral_id else pair.referral_id
    reference = await db.scalar(select(Referral.reference).where(Referral.id == other_id))
    return str(reference)
