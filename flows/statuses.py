"""The statuses of stored things other than referrals: inbound and outbound messages, and sessions.

A leaf: it imports nothing from the project, so the store, the core and the pages all use the same
members instead of string literals. Each member carries its human label, as httpx's status codes
carry their phrase; the value is what the database stores, so these must not be renamed.
(A referral's status lives with its process, in flows/process.py.)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

__all__ = ["AppointmentStatus", "EnquiryStatus", "InboundStatus", "OutboundStatus", "ReplyKind", "SendResult"]


class _Labelled(StrEnum):
    """A StrEnum whose members are written `NAME = "value", "Label"` and carry the label."""

    label: str

    # The default is for the type checker only: `InboundStatus("received")` looks a member up by
    # value and never calls __new__, which runs once per member with its label.
    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class InboundStatus(_Labelled):
    """Stored first, processed after: a crash between the two leaves it `received` for recovery."""

    RECEIVED = "received", "Received, not yet processed"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class OutboundStatus(_Labelled):
    """An outbound message's life: ours until the provider takes it, then the provider's reports."""

    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    ACCEPTED = "accepted", "Accepted by the provider"  # Twilio's first word when a messaging service sends
    QUEUED = "queued", "Queued by the provider"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Not delivered"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Not sent: opted out or blocked"
    CANCELLED = "cancelled", "Not sent: no longer wanted"  # a reminder for a session moved, cancelled or declined
    MISSED = "missed", "Not sent: the session had started"


class AppointmentStatus(_Labelled):
    """A session with a young person: booked, then answered (Y or N), cancelled or missed."""

    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Can't come"
    CANCELLED = "cancelled", "Cancelled"
    MISSED = "missed", "Missed"

    @property
    def upcoming(self) -> bool:
        """Still to happen as far as anyone knows, so it may be moved or cancelled."""
        return self in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.DECLINED)


class ReplyKind(_Labelled):
    """What a young person's reply was, once matched to the text it answers (stored on caseworker_notices.kind)."""

    CONFIRMED = "confirmed", "Confirmed the session"
    CANT_COME = "cant_come", "Can't come"
    MESSAGE = "message", "Message"
    GOT_IT = "got_it", "Got the first message"


class EnquiryStatus(_Labelled):
    """An enquiry from a young person or family: new until the unit has replied to it, then closed."""

    NEW = "new", "New"
    REPLIED = "replied", "Replied"
    CLOSED = "closed", "Closed"

    @property
    def colour(self) -> str:
        """Its tag's colour on the staff pages: new ones stand out, as what is waiting for someone."""
        return {EnquiryStatus.NEW: "blue", EnquiryStatus.REPLIED: "green"}.get(self, "grey")


class SendResult(_Labelled):
    """What became of one attempt to send an outbound message (counted for /metrics)."""

    ACCEPTED = "accepted", "Accepted by the provider"
    RETRIED = "retried", "Refused for now: to be tried again"
    FAILED = "failed", "Refused for good"
