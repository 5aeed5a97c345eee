"""Column types: encrypted text and JSON bound to their row, UTC times that read back aware, enums as their value."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, LargeBinary, String, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from store import crypto

__all__ = [
    "ROW_UID",
    "ROW_UID_CHARS",
    "Encrypted",
    "EncryptedJSON",
    "EncryptedText",
    "EnumText",
    "ForRow",
    "UTCDateTime",
]

E = TypeVar("E", bound=StrEnum)

# Every table with encrypted columns has this column: a random id made by the app when the row is
# first written, bound into each of the row's ciphertexts (see store/sealing.py).
ROW_UID = "row_uid"
ROW_UID_CHARS = 32


@dataclass(frozen=True, slots=True)
class ForRow:
    """A plain value on its way into the row with this uid: what an encrypted column accepts."""

    value: Any
    row_uid: str


class _WithRowUid(FunctionElement[bytes]):
    """A ciphertext with its row's uid appended, so a value read back can be checked against its row."""

    type = LargeBinary()
    inherit_cache = True
    name = "with_row_uid"


@compiles(_WithRowUid, "sqlite")
def _sqlite_with_row_uid(element: _WithRowUid, compiler: SQLCompiler, **kw: Any) -> str:
    sealed, uid = (compiler.process(clause, **kw) for clause in element.clauses)
    # SQLite's || works on text; the bytes pass through unchanged and CAST gives them back as a blob.
    return f"CAST({sealed} || {uid} AS BLOB)"


@compiles(_WithRowUid, "postgresql")
def _postgresql_with_row_uid(element: _WithRowUid, compiler: SQLCompiler, **kw: Any) -> str:
    sealed, uid = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({sealed} || convert_to({uid}, 'UTF8'))"


class Encrypted(TypeDecorator[Any]):
    """Encrypted at rest, bound to its column and its row; the rest of the code sees plain values."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def encode(self, value: Any) -> bytes:
        """The plain value as the bytes that are encrypted."""
        raise NotImplementedError

    def decode(self, plaintext: bytes) -> Any:
        """The plain value from decrypted bytes."""
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, ForRow):
            # The ORM binds values to their row on flush; a hand-written insert must say the row.
            raise TypeError(
                f"{self.purpose} needs its row: write it through the ORM, or with store.sealing.row_values()")
        if value.value is None:
            return None
        return crypto.encrypt(self.encode(value.value), self.purpose, value.row_uid)

    def column_expression(self, colexpr: ColumnElement[Any]) -> ColumnElement[Any]:
        table = getattr(colexpr, "table", None)
        if table is None or ROW_UID not in table.c:
            raise TypeError(f"{self.purpose} can only be selected from its table (its row_uid is needed to read it)")
        return type_coerce(_WithRowUid(colexpr, table.c[ROW_UID]), self)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        raw = bytes(value)
        sealed, row_uid = raw[:-ROW_UID_CHARS], raw[-ROW_UID_CHARS:].decode("ascii", "replace")
        return self.decode(crypto.decrypt(sealed, self.purpose, row_uid))


class EncryptedText(Encrypted):
    """Text encrypted at rest."""

    cache_ok = True

    def encode(self, value: Any) -> bytes:
        text: str = value
        return text.encode()

    def decode(self, plaintext: bytes) -> Any:
        return plaintext.decode()


class EncryptedJSON(Encrypted):
    """A JSON document encrypted at rest."""

    cache_ok = True

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def decode(self, plaintext: bytes) -> Any:
        return json.loads(plaintext)


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
