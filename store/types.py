"""Column types: encrypted text and JSON, and UTC timestamps that read back aware on every database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from store import crypto

__all__ = ["EncryptedText", "EncryptedJSON", "UTCDateTime"]


class EncryptedText(TypeDecorator[str]):
    """Text encrypted at rest; the rest of the code only ever sees plain str."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else crypto.encrypt(value.encode(), self.purpose)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else crypto.decrypt(bytes(value), self.purpose).decode()


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document encrypted at rest."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, separators=(",", ":")).encode(), self.purpose)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(crypto.decrypt(bytes(value), self.purpose))


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as UTC; SQLite forgets the zone, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
