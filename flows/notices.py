"""What the bot tells a referrer about their referral, and the unit about new ones.

Fixed texts fit one SMS segment. A text carrying words staff wrote (a question, a decline reason) may
take up to three, and is sent whole: words that would not fit are refused with the limit, never cut.
"""

from __future__ import annotations

from collections.abc import Callable

from flows.process import Refused, Status
from flows.text import capacity, gsm_safe, is_gsm7, sms_length

__all__ = [
    "DECLINE_REASONS",
    "REFERRER_SEGMENTS",
    "accepted_text",
    "allocated_text",
    "checked_words",
    "declined_text",
    "info_received_text",
    "info_request_text",
    "question_room",
    "reason_room",
    "status_text",
    "status_unknown_text",
    "unit_alert_text",
    "unit_enquiry_text",
    "unit_notice_text",
]

# Referrers are professionals: a longer text is fine for them, a cut one is not.
REFERRER_SEGMENTS = 3

# Reasons a referral is declined, each with what the referrer can do instead (kind, short, plain).
DECLINE_REASONS: dict[str, str] = {
    "not_eligible": "they don't meet our criteria. Local youth services may help",
    "extensive_support": "they already get extensive support from other services",
    "services_local": "the help they need is available locally to them",
    "not_ready": "they aren't ready yet. Please refer again when they are",
    "no_consent": "they haven't agreed to it. Refer again if they do",
}


def declined_text(reference: str, reason: str, unit_contact: str) -> str:
    """The decline, kindly, with what to do instead; `reason` is a key above or the unit's own words (sent whole)."""
    why = DECLINE_REASONS.get(reason) or gsm_safe(reason)
    return f"Sorry, we can't take referral {reference}: {why}. To talk: {unit_contact}"


def accepted_text(reference: str) -> str:
    return f"Good news: referral {reference} is accepted. A caseworker will be allocated and will be in touch."


def allocated_text(reference: str) -> str:
    """No caseworker's name: a text can be read by anyone, and the unit introduces its people itself."""
    return f"Referral {reference} now has a caseworker, who will be in touch with the young person soon."


def info_request_text(reference: str, question: str) -> str:
    return f"About referral {reference}, the referral unit asks: {gsm_safe(question)} Please reply here."


def _room(compose: Callable[[str], str]) -> int:
    """How long staff words can be (as sms_length counts) for compose(words) to fit REFERRER_SEGMENTS."""
    probe = compose("x")  # one septet standing for the words
    return capacity(REFERRER_SEGMENTS, is_gsm7(probe)) - sms_length(probe) + 1


def question_room(reference: str) -> int:
    """The longest question the unit can ask about this referral."""
    return _room(lambda words: info_request_text(reference, words))


def reason_room(reference: str, unit_contact: str) -> int:
    """The longest decline reason of the unit's own words for this referral."""
    return _room(lambda words: declined_text(reference, words, unit_contact))


def checked_words(what: str, words: str, room: int) -> str:
    """Staff words as they will be sent (one GSM-7 line), or Refused naming the limit if they don't fit."""
    sent = gsm_safe(words)
    if not sent:
        raise Refused(f"Please write the {what}: it is sent to the referrer by text.")
    if (length := sms_length(sent)) > room:
        # Characters like [ ] { } and the euro sign take two places in a text message.
        doubled = " (symbols like [ ] { } and the euro sign count as two)" if length != len(sent) else ""
        raise Refused(f"Your {what} is {length} characters{doubled}; it can be at most {room} so the text fits "
                      f"{REFERRER_SEGMENTS} SMS.")
    return sent


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


def unit_enquiry_text(reference: str, flags: list[str]) -> str:
    """For the unit's group chat: an enquiry from a young person or family arrived; nothing personal."""
    marks = f" ({', '.join(flags)})" if flags else ""
    return f"New enquiry {reference} from a young person or family{marks}. See Enquiries in the staff pages."


def unit_alert_text(reference: str | None, *, test: bool = False, enquiry: bool = False) -> str:
    """For the unit's group chat when a chat message suggested immediate danger (`test`: in the simulator)."""
    if test:
        return "TEST FROM THE SIMULATOR: a simulator chat sent a danger message. No real person is involved."
    if enquiry:
        where = "an enquiry from a young person or family"
    else:
        where = f"referral {reference}" if reference else "a referral chat (not sent yet)"
    return f"Safeguarding: a message in {where} suggested immediate danger. See the staff queue now."
