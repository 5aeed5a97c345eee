"""Stand-in Twilio and Telegram servers on loopback, for tests that drive the real client libraries."""
