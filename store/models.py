"""The tables. Personal fields are encrypted columns; what the queue filters on is not personal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flows.channels import Channel
from flows.process import Status as ReferralStatus
from flows.same_person import Decision
from flows.statuses import AppointmentStatus, EnquiryStatus, InboundStatus, OutboundStatus
from store.sealing import bind_rows_on_flush
from store.types import ROW_UID_CHARS, EncryptedJSON, EncryptedText, EnumText, UTCDateTime

__all__ = [
    "Appointment",
    "AppointmentStatus",
    "AuditEntry",
    "Base",
    "CaseworkerNotice",
    "Contact",
    "ContactEvent",
    "Conversation",
    "Enquiry",
    "EnquiryStatus",
    "InboundMessage",
    "InboundStatus",
    "KeyRotation",
    "OutboundMessage",
    "OutboundStatus",
    "Place",
    "PossibleDuplicate",
    "RecoveryCode",
    "Referral",
    "ReferralEvent",
    "ReferralStatus",
    "RememberedReferrer",
    "SafeguardingAlert",
    "ScreenOut",
    "SecondFactor",
    "StaffSession",
    "User",
]


class Base(DeclarativeBase):
    pass


bind_rows_on_flush(Base)


class RowSealed:
    """A table with encrypted columns: its rows' ciphertexts are bound to the row by this random uid."""

    row_uid: Mapped[str] = mapped_column(String(ROW_UID_CHARS))


class Conversation(RowSealed, Base):
    """One sender on one channel, and the draft referral they are part-way through."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "sender_hash", name="uq_conversations_sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    sender_hash: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(EncryptedText("conversations.sender"))
    state: Mapped[str] = mapped_column(String(32), default="new")
    draft: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("conversations.draft"))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    awaiting_info_reference: Mapped[str | None] = mapped_column(String(16))


class InboundMessage(RowSealed, Base):
    """Every message received, once: its provider id makes a retried webhook harmless."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_inbound_provider_id"),
        Index("ix_inbound_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    provider_id: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str | None] = mapped_column(EncryptedText("inbound_messages.body"))
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(EncryptedJSON("inbound_messages.replies"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sender: Mapped[str | None] = mapped_column(EncryptedText("inbound_messages.sender"))
    status: Mapped[InboundStatus] = mapped_column(EnumText(InboundStatus, 16), default=InboundStatus.PROCESSED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reply_segments: Mapped[int] = mapped_column(Integer, default=0)


class Referral(RowSealed, Base):
    """A submitted referral in the unit's queue; everything personal sits in `details`."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[ReferralStatus] = mapped_column(EnumText(ReferralStatus, 32), default=ReferralStatus.QUEUED)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    borough: Mapped[str] = mapped_column(String(40), index=True)
    age: Mapped[int] = mapped_column(Integer)
    under_18: Mapped[bool] = mapped_column(Boolean)
    urgency: Mapped[str] = mapped_column(String(16))
    safeguarding_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    referrer_hash: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("referrals.details"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    origin_address: Mapped[str | None] = mapped_column(EncryptedText("referrals.origin_address"))
    origin_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    reviewer: Mapped[str | None] = mapped_column(String(254))
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    yp_phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    reminders_off: Mapped[bool] = mapped_column(Boolean, default=False)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The young person's date of birth and how their name sounds, keyed (flows/same_person.py): a referral
    # of the same young person, with the name spelled another way, is found by it.
    yp_name_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # When the referrer answered the unit's question, until a unit member opens the referral.
    new_info_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Enquiry(RowSealed, Base):
    """An enquiry from a young person or family (ME): not a referral, and kept apart from them.

    `details` holds what they said (what to call them, whether it is safe to text them, their message)
    and `origin_address` the number or chat to reply to: both encrypted, bound to the row.
    """

    __tablename__ = "enquiries"
    __table_args__ = (Index("ix_enquiries_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[EnquiryStatus] = mapped_column(EnumText(EnquiryStatus, 16), default=EnquiryStatus.NEW)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    details: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("enquiries.details"))
    origin_address: Mapped[str | None] = mapped_column(EncryptedText("enquiries.origin_address"))
    safeguarding_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_by: Mapped[str | None] = mapped_column(String(254))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReferralEvent(RowSealed, Base):
    """A referral's history: each action, who took it and when, with any note (encrypted)."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32))
    status_after: Mapped[ReferralStatus] = mapped_column(EnumText(ReferralStatus, 32))
    note: Mapped[str | None] = mapped_column(EncryptedText("referral_events.note"))


class PossibleDuplicate(Base):
    """Two referrals that may be of the same young person, found at submission, and what the unit decided.

    `referral_id` is the later referral, `same_as_id` the earlier one. Nothing personal: which of the
    young person's details agreed (`by_name`: date of birth and a sound-alike name; `by_mobile`).
    """

    __tablename__ = "possible_duplicates"
    __table_args__ = (UniqueConstraint("referral_id", "same_as_id", name="uq_possible_duplicates_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    same_as_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    by_name: Mapped[bool] = mapped_column(Boolean)
    by_mobile: Mapped[bool] = mapped_column(Boolean)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decision: Mapped[Decision | None] = mapped_column(EnumText(Decision, 16))
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class User(Base):
    """A member of staff: referral unit, caseworker or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the password was set: a one-time password expires a while after (None from before it was kept).
    password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32))


class StaffNotice(Base):
    """Something a member of staff is told on their next page ("Sam took over LGX-..."): no personal data."""

    __tablename__ = "staff_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A logged-in browser: the cookie holds a random token, the database only its hash."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When this session's second factor was checked: until then it reaches only that step and logging out.
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SecondFactor(RowSealed, Base):
    """A member's authenticator app: the TOTP secret (encrypted), and the last time step a code was accepted for."""

    __tablename__ = "staff_second_factors"

    id: Mapped[int] = mapped_column(primary_key=True)  # key rotation walks every encrypted table by its id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(EncryptedText("staff_second_factors.secret"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # None while enrolling: set when the first code from the app is entered.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A code is accepted only for a newer step than this one, so no code is used twice.
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(Base):
    """One of a member's one-time recovery codes, for a lost phone: only its argon2 hash is kept."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who saw or changed what, and when. Written by the app, never edited by it (a trigger refuses)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(254), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    reference: Mapped[str | None] = mapped_column(String(16), index=True)
    detail: Mapped[str] = mapped_column(String(300), default="")


class ScreenOut(Base):
    """A referral screening said no to: the reason and the day, and nothing that identifies anyone."""

    __tablename__ = "screen_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    screened_on: Mapped[date] = mapped_column(Date, index=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))


class SafeguardingAlert(RowSealed, Base):
    """A message suggested immediate danger: the referral unit must look, whatever became of the draft.

    The words and the bot's answer are kept (encrypted) so staff can read what raised it; `reference`
    links the referral the chat became, and the alert is kept as long as that referral is.
    """

    __tablename__ = "safeguarding_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    reference: Mapped[str | None] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(EncryptedText("safeguarding_alerts.text"))
    answer: Mapped[str | None] = mapped_column(EncryptedText("safeguarding_alerts.answer"))
    acknowledged_by: Mapped[str | None] = mapped_column(String(254))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    ack_note: Mapped[str | None] = mapped_column(EncryptedText("safeguarding_alerts.ack_note"))


class Contact(RowSealed, Base):
    """Someone the bot can write to on a channel, and whether it may: opted out by STOP, or blocked the bot."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "address_hash", name="uq_contacts_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    address_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(EncryptedText("contacts.address"))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RememberedReferrer(RowSealed, Base):
    """A referrer's own details, kept at their choice for their next referral from the same sender.

    Found by the sender's keyed hash, as conversations are; the sender is kept (encrypted) so that
    `rotate-key` can compute the hash again. Deleted by FORGET, or when unused for the retention period.
    """

    __tablename__ = "remembered_referrers"
    __table_args__ = (UniqueConstraint("channel", "sender_hash", name="uq_remembered_referrers_sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    sender_hash: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(EncryptedText("remembered_referrers.sender"))
    details: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("remembered_referrers.details"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ContactEvent(Base):
    """Each opt-out, opt-in or block, with its time: the record of consent to be messaged."""

    __tablename__ = "contact_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboundMessage(RowSealed, Base):
    """A message the bot starts or sends outside a webhook reply: the outbox the dispatcher works from."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 16))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(EncryptedText("outbound_messages.body"))
    markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(24))
    dedupe_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    status: Mapped[OutboundStatus] = mapped_column(EnumText(OutboundStatus, 16), default=OutboundStatus.PENDING)
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    planned_for: Mapped[str | None] = mapped_column(String(24))


class Appointment(RowSealed, Base):
    """A one-to-one session a caseworker holds with a young person (called a session on the pages)."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_referral_starts", "referral_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    place: Mapped[str] = mapped_column(EncryptedText("appointments.place"))
    status: Mapped[AppointmentStatus] = mapped_column(EnumText(AppointmentStatus, 16),
                                                      default=AppointmentStatus.SCHEDULED)
    answer: Mapped[str | None] = mapped_column(EncryptedText("appointments.answer"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Place(RowSealed, Base):
    """A caseworker's own short place labels ("the usual place"), the only place words texts carry."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(EncryptedText("places.label"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseworkerNotice(RowSealed, Base):
    """Something a young person said that their caseworker must see: a cancellation, a question."""

    __tablename__ = "caseworker_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(EncryptedText("caseworker_notices.text"))
    # What the bot texted back at once ("Thanks, that's confirmed"), shown after the reply in the timeline.
    answer: Mapped[str | None] = mapped_column(EncryptedText("caseworker_notices.answer"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KeyRotation(Base):
    """How far `referral-bot rotate-key` has got in each table, so a stopped run carries on where it was."""

    __tablename__ = "key_rotation"

    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(8))
    last_id: Mapped[int] = mapped_column(Integer)
    done: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
