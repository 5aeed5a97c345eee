"""Eligibility rules of the service: pure predicates that name the reason a referral can't go on."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Reason", "age_reason", "explanation"]


class Reason(StrEnum):
    TOO_YOUNG = "too_young"
    TOO_OLD = "too_old"
    NOT_LONDON = "not_london"
    NOT_GANG_INVOLVED = "not_gang_involved"
    NO_SIGNIFICANT_RISK = "no_significant_risk"
    NOT_MOTIVATED = "not_motivated"
    NOT_WILLING = "not_willing"
    EXTENSIVE_SUPPORT = "extensive_support"
    SERVICES_LOCAL = "services_local"
    # Asked as one question each since 2026-12: the two reasons above them stay for the counts kept before.
    NOT_READY = "not_ready"
    SUPPORTED_ELSEWHERE = "supported_elsewhere"


def age_reason(age: int, min_age: int, max_age: int) -> Reason | None:
    """Outside the age range on the day of referral is a reason; inside it is none."""
    if age < min_age:
        return Reason.TOO_YOUNG
    if age > max_age:
        return Reason.TOO_OLD
    return None


def explanation(reason: Reason, min_age: int, max_age: int) -> str:
    """A kind, one-segment reply saying why, and what the referrer can do instead."""
    ages = f"{min_age} to {max_age}"
    texts = {
        Reason.TOO_YOUNG: f"Sorry, we can't take this one: the service is for ages {ages}. "
        "Children's social care or the youth offending team can help. Refer again later.",
        Reason.TOO_OLD: f"Sorry, we can't take this one: the service is for ages {ages}. "
        "Probation, the council or local adult services may be able to help.",
        Reason.NOT_LONDON: "Sorry, we can't take this one: we only work with young people "
        "living in or linked to a London borough. Their local council can advise.",
        Reason.NOT_GANG_INVOLVED: "Sorry, we can't take this one: the service is for young people "
        "involved in or linked to gangs. Local youth services may help.",
        Reason.NO_SIGNIFICANT_RISK: "Sorry, we can't take this one: we work where there is a "
        "significant risk of harm. Local youth services may help. Refer again if that changes.",
        Reason.NOT_MOTIVATED: "Sorry, we can't take this one yet: they need some motivation to "
        "leave. Please refer again when they are ready.",
        Reason.NOT_WILLING: "Sorry, we can't take this one yet: they need to be willing to work "
        "with us. Please refer again when they are.",
        Reason.EXTENSIVE_SUPPORT: "Thanks. As they already get extensive support, we can't take "
        "this one. Their current workers are best placed to help.",
        Reason.SERVICES_LOCAL: "Thanks. As the help they need is available locally, we can't "
        "take this one. Please use those local services.",
        Reason.NOT_READY: "Sorry, we can't take this one yet: they need some motivation to leave, and to "
        "be willing to work with us. Please refer again when they are ready.",
        Reason.SUPPORTED_ELSEWHERE: "Thanks. As they already get extensive support, or the help they need "
        "is available locally, we can't take this one. Please use those services.",
    }
    return texts[reason]

