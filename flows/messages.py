"""The fixed things the bot says, outside the questions themselves."""

from __future__ import annotations

from typing import Any

# A leaf both paths import: the offer is said by the dialog and answered by the enquiry path.
ENQUIRY_OFFER = "Young person or family? Send ME"

__all__ = [
    "CARRY_ON",
    "CONFIRM_RESTART",
    "EMERGENCY",
    "ENQUIRY_OFFER",
    "FIRST_QUESTION",
    "FORGOTTEN",
    "NOTHING_KEPT",
    "NOT_KEPT",
    "NOT_SAVED",
    "RESTARTED",
    "SUMMARY_PROMPT",
    "USE_REMEMBERED_REASK",
    "WELCOME",
    "help_text",
    "kept_text",
    "pick_number_text",
    "referring_as_text",
    "remember_offer_text",
    "stuck_text",
    "submitted_text",
]

# Anyone may text the number, so the first reply names no service (a young person's phone may be
# seen by others) and, in one line, shows someone who is not a professional the way in: ME.
WELCOME = (
    "Referral line for professionals. Not an emergency service: "
    f"if anyone is in danger now, call 999. Send HELP any time. {ENQUIRY_OFFER}"
)
# To a professional: what to do now, and that a person at the unit will see it. Childline, Samaritans
# and SHOUT are for young people and families, not for the worker in A&E (DOMAIN.md).
EMERGENCY = (
    "If anyone is in immediate danger, call 999 now. We have flagged your message to the referral "
    "unit. Police, not an emergency: 101."
)
CONFIRM_RESTART = "Send RESTART again to delete this referral and start over, or anything else to carry on."
RESTARTED = "Deleted. Starting again."
CARRY_ON = "OK, carrying on."
FIRST_QUESTION = "This is the first question."
SUMMARY_PROMPT = "Send a number to change that answer, YES to send the referral, or RESTART."
# When the database cannot take a message at all: the sender must know to send it again.
NOT_SAVED = "Sorry, something went wrong on our side and nothing was saved. Please send that again in a minute."


def help_text(unit_contact: str) -> str:
    """What to do, and how to reach a person."""
    return (
        "FORM: all in one text. BACK, SUMMARY, RESTART. FORGET: drop kept details. "
        f"{ENQUIRY_OFFER}. Talk to us: {unit_contact}"
    )


def stuck_text(unit_contact: str) -> str:
    """Offered after three answers in a row that could not be read."""
    return f"Stuck? Send HELP, or contact {unit_contact}."


def submitted_text(reference: str, when: str) -> str:
    """The receipt: the reference, that it is queued, and when the unit will look at it."""
    return (
        f"Thank you. Referral {reference} is received and queued. The referral unit will look at it "
        f"{when} and decide within 7 days."
    )


def pick_number_text(highest: int) -> str:
    return f"Please send a number from 1 to {highest} to change an answer, or YES to send it."


# --- the referrer's own details, kept for their next referral at their choice -------------------------

NOT_KEPT = "OK, not kept."
FORGOTTEN = "Done: your details kept for next time are deleted. Referrals you sent are not affected."
NOTHING_KEPT = "We keep no details of yours for next time, so there was nothing to delete."
USE_REMEMBERED_REASK = "Please reply Y to use these details, or EDIT to change them."
# Room the referrer's name and job take in "Referring as ...": the rest of the text is fixed.
_REFERRING_AS_ROOM = 90


def _from_here(by_phone: bool) -> str:
    return "this number" if by_phone else "this account"


def remember_offer_text(by_phone: bool, *, replacing: bool) -> str:
    """Asked once after the receipt: keep their details for next time."""
    if replacing:
        return (f"Keep these new details of yours for your next referral from {_from_here(by_phone)}, in place "
                "of the old? Y or N")
    return (f"Keep your name, job, organisation and email for your next referral from {_from_here(by_phone)}? "
            "Y or N")


def kept_text(by_phone: bool) -> str:
    return (f"Kept. Next time from {_from_here(by_phone)} you'll just confirm them. "
            "Send FORGET at any time to delete them.")


def referring_as_text(kept: dict[str, Any]) -> str:
    """After screening, for a referrer whose details are kept: use them, or EDIT."""
    job = kept.get("referrer_job") or {}
    who = ", ".join(str(part) for part in (kept.get("referrer_name"), job.get("role"), job.get("org")) if part)
    if len(who) > _REFERRING_AS_ROOM:
        who = who[: _REFERRING_AS_ROOM - 2].rstrip() + ".."
    return f"Good, they can be referred. Referring as {who}. Y to use, or EDIT"
