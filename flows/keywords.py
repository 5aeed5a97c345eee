"""Carriers' own keywords on UK long codes: a whole message, any case (DOMAIN.md, SMS facts)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OPT_IN_WORDS", "OPT_OUT_WORDS", "Keyword", "carrier_keyword"]

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
# YES opts a number back in at Twilio too, so it must count here as well for an opted-out number.
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


def carrier_keyword(text: str) -> Keyword | None:
    """The carrier keyword a whole message is, if any ('stop', ' Stop. ' count; 'stop it' does not)."""
    word = text.strip().strip(".!").upper()
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    return None
