"""The channels messages come and go by, and the sets of them that behave alike.

A leaf: it imports nothing from the project, so the core, the store, the adapters and the flows
all name a channel the same way instead of spelling it as a string.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Channel", "PHONE_CHANNELS", "REPLYABLE_CHANNELS"]


class Channel(StrEnum):
    """Where a message came from or goes to; the value is what the database stores."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    SIMULATOR = "simulator"
    EMAIL = "email"  # notices to staff only; no one writes in by email


# Channels whose sender id is a phone number: the referrer's number, and carrier keywords apply
# (STOP and a provider's refusal both mean the number opted out).
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})

# Channels the bot can start a message to a referrer on (the simulator's messages wait in its inbox).
REPLYABLE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM, Channel.SIMULATOR})
