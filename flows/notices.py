"""What the bot tells a referrer about their referral, and the unit about new ones: one SMS segment each."""

from __future__ import annotations

from flows.process import Status
from flows.text import gsm_safe

__all__ = [
    "DECLINE_REASONS",
    "MAX_QUESTION",
    "MAX_REASON",
    "accepted_text",
    "declined_text",
    "info_received_text",
    "info_request_text",
    "status_text",
    "status_unknown_text",
    "unit_alert_text",
    "unit_notice_text",
]

MAX_QUESTION = 90
MAX_REASON = 60

# Reasons a referral is declined, each with what the referrer can do instead (kind, short, plain).
DECLINE_REASONS: dict[str, str] = {
    "not_eligible": "they don't meet our criteria. Local youth services may help",
    "extensive_support": "they already get extensive support from other services",
    "services_local": "the help they need is available locally to them",
    "not_ready": "they aren't ready yet. Please refer again when they are",
    "no_consent": "they haven't agreed to it. Refer again if they do",
}


def _short(text: str, limit: int) -> str:
    text = gsm_safe(text)
    return text if len(text) <= limit else text[: limit - 2].rstrip() + ".."


def declined_text(reference: str, reason: str, unit_contact: str) -> str:
    """The decline, kindly, with what to do instead; `reason` is a key above or the unit's own words."""
    why = DECLINE_REASONS.get(reason) or _short(reason, MAX_REASON)
    return f"Sorry, we can't take referral {reference}: {why}. To talk: {unit_contact}"


def accepted_text(reference: str) -> str:
    return f"Good news: referral {reference} is accepted. A caseworker will be allocated and will be in touch."


def info_request_text(reference: str, question: str) -> str:
    return f"About referral {reference}, the referral unit asks: {_short(question, MAX_QUESTION)} Please reply here."


def info_received_text(reference: str) -> str:
    return f"Thank you, that is added to referral {reference}."


def status_text(reference: str, status: Status, received: str) -> str:
    return f"Referral {reference} (received {received}) is {Status(status).words}."


def status_unknown_text(reference: str) -> str:
    # The same answer for "no such reference" and "not yours", so nothing leaks about others' referrals.
    return f"We can't find referral {gsm_safe(reference)[:16]} sent from here. Check the reference, or call the unit."


def unit_notice_text(reference: str, flags: list[str]) -> str:
    """For the unit's group chat: the reference and flags only, never anything personal."""
    marks = f" ({', '.join(flags)})" if flags else ""
    return f"New referral {reference}{marks}. See the staff queue."


def unit_alert_text(reference: str | None, *, test: bool = False) -> str:
    """For the unit's group chat when a chat message suggested immediate danger (`test`: in the simulator)."""
    if test:
        return "TEST FROM THE SIMULATOR: a simulator chat sent a danger message. No real person is involved."
    where = f"referral {reference}" if reference else "a referral chat (not sent yet)"
    return f"Safeguarding: a message in {where} suggested immediate danger. See the staff queue now."
