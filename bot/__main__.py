"""`python -m bot` is the `referral-bot` command."""

from bot.cli import main

main()
