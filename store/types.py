"""Column types: encrypted text and JSON, UTC timestamps that read back aware, and enums stored as their value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from store import crypto

__all__ = ["EncryptedText", "EncryptedJSON", "UTCDateTime", "EnumText"]

E = TypeVar("E", bound=StrEnum)


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


class EnumText(TypeDecorator[E], Generic[E]):
    """A StrEnum kept as its plain value in a VARCHAR column: members go in, members come out.

    A value that is not a member is refused on the way in (a typo'd status can't be stored or
    queried for) and on the way out (a row the code could not have written is reported, not guessed at).
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length  # with `enum`, what tells two of these apart in SQLAlchemy's statement cache

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)
