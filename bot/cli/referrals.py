"""`referral-bot referrals`: look at the queue and move referrals through the process."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import act
from bot.cli.common import BY_OPTION, JSON_OPTION, actor_for, fail, keyed_settings, run_db
from bot.settings import Settings
from flows.process import Action, Refused, Status
from flows.questions import current_answers
from flows.same_person import Decision
from store.audit import audit
from store.models import Referral
from store.referrals import get_referral, list_referrals
from store.same_person import Likeness, likenesses

__all__ = ["STATUSES", "app"]

STATUSES = tuple(status.value for status in Status)

app = typer.Typer(help="Look at the referral queue.", no_args_is_help=True)


def _row(referral: Referral) -> dict[str, Any]:
    return {
        "reference": referral.reference,
        "status": referral.status,
        "created_at": referral.created_at.isoformat(),
        "borough": referral.borough,
        "age": referral.age,
        "under_18": referral.under_18,
        "urgency": referral.urgency,
        "safeguarding_flag": referral.safeguarding_flag,
        "channel": referral.channel,
    }


@app.command("list")
def referrals_list(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The queue, newest first."""
    if status is not None and status not in STATUSES:
        raise fail(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
    settings = keyed_settings()

    async def work(db: AsyncSession) -> list[Referral]:
        found = await list_referrals(db, status)
        await audit(db, "cli", "view_queue", datetime.now(UTC), detail=f"status={status or 'any'}")
        return found

    rows = [_row(r) for r in run_db(settings, work)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No referrals." if status is None else f"No referrals with status {status}.")
        return
    _table(rows, settings)


def _table(rows: list[dict[str, Any]], settings: Settings) -> None:
    headers = ("REFERENCE", "STATUS", "RECEIVED", "BOROUGH", "AGE", "URGENCY", "FLAGS")
    lines = []
    for row in rows:
        received = datetime.fromisoformat(row["created_at"]).astimezone(settings.tz).strftime("%d %b %Y %H:%M")
        flags = " ".join(f for f, on in (("SAFEGUARDING", row["safeguarding_flag"]), ("U18", row["under_18"])) if on)
        lines.append(
            (row["reference"], row["status"], received, row["borough"], str(row["age"]), row["urgency"], flags)
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    for line in (headers, *lines):
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@app.command("show")
def referrals_show(
    reference: Annotated[str, typer.Argument(help="The reference, e.g. LGX-7K3Q9.")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Everything one referral holds."""
    settings = keyed_settings()

    async def work(db: AsyncSession) -> tuple[Referral, list[Likeness]] | None:
        found = await get_referral(db, reference)
        if found is None:
            return None
        await audit(db, "cli", "view", datetime.now(UTC), found.reference)
        return found, await likenesses(db, found.id)

    shown = run_db(settings, work)
    if shown is None:
        raise fail(f"no referral with reference {reference.strip().upper()}", code=1)
    referral, alike = shown
    whole = {**_row(referral), "updated_at": referral.updated_at.isoformat(),
             # Other referrals possibly of the same young person, not yet decided; and those the unit said are.
             "possible_duplicates": [m.reference for m in alike if m.decision is None],
             "same_young_person": [m.reference for m in alike if m.decision is Decision.SAME],
             # In today's shapes, whenever the referral was made (several answers became one).
             "details": current_answers(referral.details)}
    if as_json:
        typer.echo(json.dumps(whole, indent=2, ensure_ascii=False))
        return
    for key, value in whole.items():
        if key == "details":
            for field, answer in value.items():
                typer.echo(
                    f"  {field:<20} {json.dumps(answer, ensure_ascii=False) if not isinstance(answer, str) else answer}"
                )
        elif isinstance(value, list):
            typer.echo(f"{key:<22} {', '.join(value) or '-'}")
        else:
            typer.echo(f"{key:<22} {value}")


def _referral_action(reference: str, action: str, by: str, **extra: str | None) -> None:
    settings = keyed_settings()

    async def work(db: AsyncSession) -> str:
        actor, _ = await actor_for(db, by)
        referral = await act(db, settings, reference, Action(action), actor, datetime.now(UTC), **extra)
        return referral.status

    try:
        status = run_db(settings, work)
    except Refused as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"{reference.strip().upper()}: {action.replace('_', ' ')} done, now {status}.")


@app.command("claim")
def referrals_claim(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Take a queued referral for review."""
    _referral_action(reference, "claim", by)


@app.command("release")
def referrals_release(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Put a referral you are reviewing back in the queue."""
    _referral_action(reference, "release", by)


@app.command("accept")
def referrals_accept(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Accept a referral you are reviewing (the referrer is told)."""
    _referral_action(reference, "accept", by)


@app.command("decline")
def referrals_decline(reference: str, reason: Annotated[str, typer.Option(help="Told to the referrer, whole.")],
                      by: Annotated[str, BY_OPTION] = "") -> None:
    """Decline a referral you are reviewing, with a reason the referrer is told."""
    _referral_action(reference, "decline", by, reason=reason)


@app.command("ask")
def referrals_ask(reference: str, question: Annotated[str, typer.Option(help="Sent to the referrer whole, by text.")],
                  by: Annotated[str, BY_OPTION] = "") -> None:
    """Ask the referrer of a referral you are reviewing for more information."""
    _referral_action(reference, "request_info", by, question=question)


@app.command("allocate")
def referrals_allocate(reference: str, to: Annotated[str, typer.Option("--to", help="The caseworker's email.")],
                       by: Annotated[str, BY_OPTION] = "") -> None:
    """Allocate an accepted referral to a caseworker."""
    _referral_action(reference, "allocate", by, caseworker=to)


@app.command("close")
def referrals_close(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Close a referral."""
    _referral_action(reference, "close", by)
