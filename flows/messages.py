"""The fixed things the bot says, outside the questions themselves."""

from __future__ import annotations

# A leaf both paths import: the offer is said by the dialog and answered by the enquiry path.
ENQUIRY_OFFER = "Young person or family? Send ME"

__all__ = [
    "CARRY_ON",
    "CONFIRM_RESTART",
    "EMERGENCY",
    "ENQUIRY_OFFER",
    "FIRST_QUESTION",
    "NOT_SAVED",
    "RESTARTED",
    "SUMMARY_PROMPT",
    "WELCOME",
    "help_text",
    "pick_number_text",
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
        "FORM: all in one text. BACK: last question. SUMMARY. RESTART. "
        f"{ENQUIRY_OFFER}. To talk to someone: {unit_contact}"
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
