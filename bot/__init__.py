"""referral-bot: channels, web app, staff pages, CLI and dispatcher around the pure flows."""
