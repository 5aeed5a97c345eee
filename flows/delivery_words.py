"""What became of a text, in the words a caseworker reads: "delivered", "not delivered: number unreachable".

The status is ours (flows.statuses.OutboundStatus); the error code is the provider's or the dispatcher's.
Twilio's codes: https://www.twilio.com/docs/api/errors
"""

from __future__ import annotations

from flows.statuses import OutboundStatus

__all__ = ["delivery_words"]

# Why a text did not arrive, by error code; anything else is "not delivered" with no reason given.
_WHY = {
    "30003": "number unreachable",
    "30005": "number unknown",
    "30006": "not a mobile, or the network is unreachable",
    "30004": "blocked by the phone",
    "30007": "filtered by the network",
    "30008": "the network did not say why",
    "21211": "not a valid number",
    "21610": "they replied STOP",
    "21614": "not a mobile",
    "opted_out": "they replied STOP",
    "session_cancelled": "the session was cancelled",
    "session_started": "the session had started",
}

_WORDS = {
    OutboundStatus.PENDING: "waiting to send",
    OutboundStatus.SENDING: "sending",
    OutboundStatus.ACCEPTED: "sent",
    OutboundStatus.QUEUED: "sent",
    OutboundStatus.SENT: "sent, not yet delivered",
    OutboundStatus.DELIVERED: "delivered",
    OutboundStatus.CANCELLED: "not sent: no longer needed",
    OutboundStatus.MISSED: "not sent: the session had started",
    OutboundStatus.SUPPRESSED: "not sent: they replied STOP",
}


def delivery_words(status: OutboundStatus | str, error_code: str | None = None) -> str:
    """Say what became of a text, with the reason when it did not arrive."""
    status = OutboundStatus(status)
    if status in (OutboundStatus.UNDELIVERED, OutboundStatus.FAILED):
        why = _WHY.get(error_code or "")
        return f"not delivered: {why}" if why else "not delivered"
    if status is OutboundStatus.CANCELLED and error_code in _WHY:
        return f"not sent: {_WHY[error_code or '']}"
    return _WORDS[status]
