"""`referral-bot enquiries`: enquiries from young people and families (ME), without what they said."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import JSON_OPTION, fail, keyed_settings, run_db
from flows.statuses import EnquiryStatus
from store.audit import audit
from store.enquiries import list_enquiries
from store.models import Enquiry

__all__ = ["STATUSES", "app"]

STATUSES = tuple(status.value for status in EnquiryStatus)

app = typer.Typer(help="Enquiries from young people and families.", no_args_is_help=True)


def _row(enquiry: Enquiry) -> dict[str, Any]:
    # Nothing personal: what they said and the number to reply to are for the staff pages, where each view is audited.
    return {
        "reference": enquiry.reference,
        "created_at": enquiry.created_at.isoformat(),
        "channel": enquiry.channel.value,
        "status": enquiry.status.value,
        "safeguarding_flag": enquiry.safeguarding_flag,
        "handled_at": enquiry.handled_at.isoformat() if enquiry.handled_at else None,
    }


@app.command("list")
def enquiries_list(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Enquiries, newest first: reference, when, channel and status (no names, numbers or messages)."""
    if status is not None and status not in STATUSES:
        raise fail(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
    settings = keyed_settings()

    async def work(db: AsyncSession) -> list[dict[str, Any]]:
        found = await list_enquiries(db, EnquiryStatus(status) if status else None)
        # Only references and statuses are shown, but who looked at the list is kept, as for the queue.
        await audit(db, "cli", "view_enquiries", datetime.now(UTC), detail=f"status={status or 'any'}")
        return [_row(enquiry) for enquiry in found]

    rows = run_db(settings, work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No enquiries." if status is None else f"No enquiries with status {status}.")
        return
    headers = ("REFERENCE", "STATUS", "RECEIVED", "CHANNEL", "FLAGS")
    lines = [(row["reference"], row["status"],
              datetime.fromisoformat(row["created_at"]).astimezone(settings.tz).strftime("%d %b %Y %H:%M"),
              row["channel"], "SAFEGUARDING" if row["safeguarding_flag"] else "") for row in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    for line in (headers, *lines):
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
