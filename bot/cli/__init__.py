"""The `referral-bot` command: set up, serve, and look at the queue from a terminal or a script.

One module per command group (`referrals`, `enquiries`, `users`, `sessions`); the service's own commands
(keygen, migrate, serve, purge, worker) are in `operations`, and what they all share in `common`.
"""

from __future__ import annotations

import sys

import typer

from bot.cli import alerts, enquiries, keys, operations, referrals, sessions, users

__all__ = ["app", "main"]

app = typer.Typer(help="referral-bot: referrals by chat for a London gang exit service.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
for command in (operations.keygen, operations.migrate, operations.serve, operations.purge, operations.worker):
    app.command()(command)
app.add_typer(referrals.app, name="referrals")
app.add_typer(users.app, name="users")
app.add_typer(sessions.app, name="sessions")
app.add_typer(alerts.app, name="alerts")
app.add_typer(enquiries.app, name="enquiries")
keys.register(app)


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
