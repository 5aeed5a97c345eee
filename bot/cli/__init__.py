"""The `referral-bot` command: set up, serve, and look at the queue from a terminal or a script."""

from bot.cli.referrals import app, main

__all__ = ["app", "main"]
