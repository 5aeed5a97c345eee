"""Every setting of referral-bot, read once from the environment and `.env`."""

from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "decode_data_key", "decode_data_keys", "get_settings", "load_settings"]

KEY_BYTES = 32


class SettingsError(Exception):
    """A setting is missing or wrong; the message names it and says what it expects."""


def decode_data_key(raw: str) -> bytes:
    """Turn the base64 text of DATA_KEY into the 32-byte key, or raise ValueError."""
    try:
        key = base64.urlsafe_b64decode(raw.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError("expected 32 random bytes in url-safe base64 (referral-bot keygen makes one)") from exc
    if len(key) != KEY_BYTES:
        raise ValueError("expected 32 random bytes in url-safe base64 (referral-bot keygen makes one)")
    return key


def decode_data_keys(raw: str) -> list[bytes]:
    """DATA_KEY's keys, current first: one key, or the current one then older ones, separated by commas."""
    parts = [part for part in re.split(r"[,\s]+", raw.strip()) if part]
    if not parts:
        raise ValueError("expected 32 random bytes in url-safe base64 (referral-bot keygen makes one)")
    keys = []
    for number, part in enumerate(parts, start=1):
        try:
            keys.append(decode_data_key(part))
        except ValueError as exc:
            raise ValueError(f"key {number} of {len(parts)}: {exc}" if len(parts) > 1 else str(exc)) from None
    if len(set(keys)) != len(keys):
        raise ValueError("the same key is listed twice")
    return keys


def _parse_hours(raw: str) -> tuple[time, time]:
    start, _, end = raw.partition("-")
    try:
        opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError as exc:
        raise ValueError("expected opening hours like 09:00-17:00") from exc
    if opens >= closes:
        raise ValueError("expected opening hours like 09:00-17:00, opening before closing")
    return opens, closes


class Settings(BaseSettings):
    """Typed settings; see .env.example for what each one does."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///var/referral-bot.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = "http://127.0.0.1:8000"
    data_key: SecretStr | None = None
    data_key_file: Path = Path("var/data.key")
    session_secret: SecretStr | None = None
    session_secret_file: Path = Path("var/session.key")
    min_age: int = Field(default=16, ge=10, le=30)
    max_age: int = Field(default=24, ge=10, le=40)
    draft_ttl_hours: int = Field(default=72, ge=1, le=24 * 90)
    reference_prefix: str = "LGX"
    timezone: str = "Europe/London"
    simulator_enabled: bool | None = None
    simulator_rate_per_minute: int = Field(default=30, ge=1, le=100_000)
    unit_contact: str = "the referral unit on 020 7946 0000"
    unit_hours: str = "09:00-17:00"
    unit_days: str = "Mon-Fri"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"

    telegram_bot_token: SecretStr = SecretStr("")
    telegram_webhook_secret: SecretStr = SecretStr("")
    telegram_mode: Literal["webhook", "polling"] = "webhook"
    telegram_api_base_url: str = "https://api.telegram.org/bot"

    outbox_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    outbox_stale_seconds: int = Field(default=300, ge=1, le=24 * 3600)

    reminder_offsets: str = "1d@18:00,2h"
    quiet_hours: str = "21:00-08:00"
    sms_rate_per_second: float = Field(default=10.0, gt=0, le=1000)
    sms_concurrency: int = Field(default=64, ge=1, le=512)
    metrics_token: SecretStr = SecretStr("")

    unit_telegram_chat_id: str = ""
    unit_email: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""
    staff_idle_minutes: int = Field(default=30, ge=5, le=24 * 60)
    staff_session_hours: int = Field(default=12, ge=1, le=72)
    one_time_password_hours: int = Field(default=24, ge=1, le=24 * 14)
    declined_retention_days: int = Field(default=365, ge=30)
    closed_retention_days: int = Field(default=365 * 2, ge=30)
    # An enquiry is a short message asking for help: once answered, the case (if any) lives elsewhere.
    enquiry_retention_days: int = Field(default=90, ge=7)
    # A referrer's details kept at their choice are forgotten after this many days unused.
    remember_referrer_days: int = Field(default=365, ge=1, le=365 * 3)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:pass@host/db")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected the public address the app is reached at, like https://bot.example.org")
        return value.rstrip("/")

    @field_validator("reference_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not (2 <= len(value) <= 5 and value.isascii() and value.isalpha() and value.isupper()):
            raise ValueError("expected 2 to 5 capital letters, like LGX")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("expected an IANA time zone name, like Europe/London") from exc
        return value

    @field_validator("unit_contact")
    @classmethod
    def _contact(cls, value: str) -> str:
        if not 1 <= len(value) <= 40:
            raise ValueError("expected 1 to 40 characters, like: the referral unit on 020 7946 0000")
        return value

    @field_validator("simulator_enabled", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("unit_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        _parse_hours(value)
        return value

    @field_validator("unit_days")
    @classmethod
    def _days(cls, value: str) -> str:
        _parse_days(value)
        return value

    @field_validator("data_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            decode_data_keys(value.get_secret_value())
            return value
        return None

    @field_validator("session_secret")
    @classmethod
    def _session_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            decode_data_key(value.get_secret_value())
            return value
        return None

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets(cls, value: str) -> str:
        from flows.reminders import parse_offsets

        parse_offsets(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        from flows.reminders import QuietHours

        QuietHours.parse(value)
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr) -> SecretStr:
        # Telegram allows 1-256 of A-Z a-z 0-9 _ - in X-Telegram-Bot-Api-Secret-Token.
        raw = value.get_secret_value()
        if raw and not (len(raw) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in raw)):
            raise ValueError("expected 1 to 256 letters, digits, _ or - (Telegram's rule for secret tokens)")
        return value

    @model_validator(mode="after")
    def _ages(self) -> Settings:
        if self.min_age > self.max_age:
            raise ValueError("MIN_AGE must not be above MAX_AGE")
        return self

    @model_validator(mode="after")
    def _channels(self) -> Settings:
        if self.sms_enabled and not (self.twilio_from_number or self.twilio_messaging_service_sid):
            raise ValueError("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is needed to send SMS "
                             "(a UK long number like +447700900000, or MG... )")
        if (
            self.telegram_enabled
            and self.telegram_mode == "webhook"
            and not self.telegram_webhook_secret.get_secret_value()
        ):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET is needed in webhook mode (or set TELEGRAM_MODE=polling)")
        return self

    @property
    def sms_enabled(self) -> bool:
        """SMS works once the Twilio account and its auth token are set."""
        return bool(self.twilio_account_sid and self.twilio_auth_token.get_secret_value())

    @property
    def email_enabled(self) -> bool:
        """Notices go by email once there is a server to send through and an address to send from."""
        return bool(self.smtp_host and self.smtp_from)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token.get_secret_value())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def simulator_on(self) -> bool:
        """The simulator is on by default locally and off by default in production."""
        if self.simulator_enabled is None:
            return self.environment == "development"
        return self.simulator_enabled

    @property
    def opening_hours(self) -> tuple[time, time]:
        return _parse_hours(self.unit_hours)

    @property
    def opening_days(self) -> frozenset[int]:
        return _parse_days(self.unit_days)

    def data_keys(self) -> list[bytes]:
        """The keys for personal data, current first: DATA_KEY, or locally the key file `make run` generated."""
        if self.data_key is not None:
            return decode_data_keys(self.data_key.get_secret_value())
        if self.environment == "production":
            raise SettingsError(
                "DATA_KEY is not set: production needs it in the environment (referral-bot keygen makes one)"
            )
        if not self.data_key_file.exists():
            raise SettingsError(
                f"DATA_KEY is not set and {self.data_key_file} does not exist: "
                f"run `referral-bot keygen --file {self.data_key_file}` (make run does this for you)"
            )
        try:
            return decode_data_keys(self.data_key_file.read_text())
        except ValueError as exc:
            raise SettingsError(f"DATA_KEY_FILE {self.data_key_file}: {exc}") from exc

    def session_key(self) -> bytes:
        """The key staff cookies are signed with: SESSION_SECRET, or locally the file `make run` generated.

        Its own secret, so rotating the data keys keeps staff logged in, and changing it touches no data.
        """
        if self.session_secret is not None:
            return decode_data_key(self.session_secret.get_secret_value())
        if self.environment == "production":
            raise SettingsError("SESSION_SECRET is not set: production needs it in the environment "
                                "(referral-bot keygen makes one)")
        if not self.session_secret_file.exists():
            # A try-out without `make run`: staff are logged out when this process ends.
            return os.urandom(KEY_BYTES)
        try:
            return decode_data_key(self.session_secret_file.read_text())
        except ValueError as exc:
            raise SettingsError(f"SESSION_SECRET_FILE {self.session_secret_file}: {exc}") from exc


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_days(raw: str) -> frozenset[int]:
    days: set[int] = set()
    try:
        for part in raw.lower().replace(" ", "").split(","):
            first, _, last = part.partition("-")
            a = _DAY_NAMES.index(first[:3])
            b = _DAY_NAMES.index(last[:3]) if last else a
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    except ValueError as exc:
        raise ValueError("expected days like Mon-Fri or Mon,Wed,Fri") from exc
    return frozenset(days)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"Setting {str(item['loc'][0]).upper()}: {message}" if item["loc"] else message)
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # overrides are checked by pydantic, not by mypy
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
