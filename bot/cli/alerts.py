"""`referral-bot alerts`: safeguarding alerts, with the words that raised them, and their acknowledgement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import JSON_OPTION, fail, keyed_settings, run_db
from flows.process import Refused
from store.alerts import acknowledge_alert, alerts
from store.audit import audit
from store.models import SafeguardingAlert

__all__ = ["app"]

app = typer.Typer(help="Safeguarding alerts: what raised them, and who acknowledged them.", no_args_is_help=True)

ACTOR = "cli"


def _row(alert: SafeguardingAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "created_at": alert.created_at.isoformat(),
        "channel": alert.channel.value,
        "reference": alert.reference,
        "text": alert.text,
        "answer": alert.answer,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "ack_note": alert.ack_note,
    }


@app.command("list")
def alerts_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only alerts not yet acknowledged.")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Alerts, open ones first: when, channel, referral, and the words that raised them (each view audited)."""
    settings = keyed_settings()

    async def work(db: AsyncSession) -> list[dict[str, Any]]:
        found = await alerts(db, open_only=open_only)
        at = datetime.now(UTC)
        for alert in found:
            await audit(db, ACTOR, "view_alert", at, alert.reference, f"alert {alert.id}")
        return [_row(alert) for alert in found]

    rows = run_db(settings, work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("No open alerts." if open_only else "No alerts.")
    for row in rows:
        when = datetime.fromisoformat(row["created_at"]).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        state = f"acknowledged by {row['acknowledged_by']}" if row["acknowledged_by"] else "OPEN"
        typer.echo(f"{row['id']:>5}  {when}  {row['channel']:<9} {row['reference'] or '-':<10} {state}")
        typer.echo(f"         {row['text'] or '(words not kept)'}")


@app.command("ack")
def alerts_ack(
    alert_id: int,
    note: Annotated[str, typer.Option("--note", help="What was done about it, for the record.")],
) -> None:
    """Acknowledge an alert with a note (audited, as 'cli')."""
    settings = keyed_settings()

    async def work(db: AsyncSession) -> None:
        await acknowledge_alert(db, alert_id, ACTOR, note, datetime.now(UTC))

    try:
        run_db(settings, work)
    except Refused as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"Alert {alert_id} acknowledged.")
