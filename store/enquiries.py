"""Enquiries from young people and families: storing them, reading them back, marking them replied or closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.enquiry import EnquirySent
from flows.process import Refused
from flows.statuses import EnquiryStatus
from store.models import Enquiry
from store.referrals import new_reference

__all__ = [
    "ENQUIRY_PREFIX",
    "MOVES",
    "count_new_enquiries",
    "create_enquiry",
    "get_enquiry",
    "list_enquiries",
    "move_enquiry",
    "new_enquiry_reference",
]

# Not the referrals' prefix: an enquiry is not a referral, so its reference must not pass for one
# (STATUS, the queue's search, the audit log's reference column all tell them apart by it).
ENQUIRY_PREFIX = "ENQ"
# Where an enquiry may go from where it is: forward only (closing is final).
MOVES: dict[EnquiryStatus, tuple[EnquiryStatus, ...]] = {
    EnquiryStatus.NEW: (EnquiryStatus.REPLIED, EnquiryStatus.CLOSED),
    EnquiryStatus.REPLIED: (EnquiryStatus.CLOSED,),
    EnquiryStatus.CLOSED: (),
}


def new_enquiry_reference() -> str:
    """A fresh random reference such as ENQ-7K3Q9 (uniqueness is the database's unique index)."""
    return new_reference(ENQUIRY_PREFIX)


async def create_enquiry(db: AsyncSession, *, reference: str, sent: EnquirySent, channel: Channel,
                         origin_address: str | None, safeguarding_flag: bool, now: datetime) -> Enquiry:
    enquiry = Enquiry(
        reference=reference, status=EnquiryStatus.NEW, channel=channel,
        details={"name": sent.name, "safe_to_text": sent.safe_to_text, "message": sent.message},
        origin_address=origin_address, safeguarding_flag=safeguarding_flag, created_at=now, updated_at=now,
    )
    db.add(enquiry)
    await db.flush()
    return enquiry


async def get_enquiry(db: AsyncSession, reference: str, *, lock: bool = False) -> Enquiry | None:
    """An enquiry by its reference as typed (any case, stray spaces); `lock` holds it to change it."""
    query = select(Enquiry).where(Enquiry.reference == reference.strip().upper())
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await db.execute(query)).scalar_one_or_none()


async def list_enquiries(db: AsyncSession, status: EnquiryStatus | None = None, limit: int = 200) -> list[Enquiry]:
    """Newest first, optionally of one status."""
    query = select(Enquiry).order_by(Enquiry.created_at.desc(), Enquiry.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Enquiry.status == status)
    return list((await db.execute(query)).scalars())


async def count_new_enquiries(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(Enquiry).where(Enquiry.status == EnquiryStatus.NEW)) or 0


async def move_enquiry(db: AsyncSession, reference: str, status: EnquiryStatus, by: str, now: datetime) -> Enquiry:
    """Mark an enquiry replied or closed; Refused when there is none or it cannot go there from where it is."""
    enquiry = await get_enquiry(db, reference, lock=True)
    if enquiry is None:
        raise Refused(f"There is no enquiry {reference.strip().upper()[:16]}.")
    if status not in MOVES[enquiry.status]:
        raise Refused(f"Enquiry {enquiry.reference} is {enquiry.status.label.lower()}: it cannot be marked "
                      f"{status.label.lower()} now.")
    enquiry.status = status
    enquiry.handled_by = by
    enquiry.handled_at = now
    enquiry.updated_at = now
    return enquiry
