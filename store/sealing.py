"""Binding each encrypted value to its row: a random `row_uid` per row, given to the cipher on every write.

The ORM knows the row when it flushes, so just before an INSERT or UPDATE the encrypted attributes
of that object are handed to their column type as `ForRow(value, row_uid)`, and given back as plain
values right after. Reading needs nothing here: the column type reads the row's uid with the value
(see store/types.py). Inserts written by hand (upserts) use `row_values()`.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session, object_session

from store.types import ROW_UID, ROW_UID_CHARS, Encrypted, ForRow

__all__ = ["bind_rows_on_flush", "encrypted_attributes", "new_row_uid", "row_values"]


def new_row_uid() -> str:
    return secrets.token_hex(ROW_UID_CHARS // 2)


@cache
def encrypted_attributes(mapper: Mapper[Any]) -> tuple[str, ...]:
    """The attribute names of a mapped class's encrypted columns."""
    return tuple(attr.key for attr in mapper.column_attrs
                 if len(attr.columns) == 1 and isinstance(attr.columns[0].type, Encrypted))


def row_values(model: type, **values: Any) -> dict[str, Any]:
    """Values for a hand-written INSERT of `model`: a new row uid, and the encrypted ones bound to it."""
    uid = values.setdefault(ROW_UID, new_row_uid())
    encrypted = encrypted_attributes(inspect(model))
    return {key: ForRow(value, uid) if key in encrypted and value is not None else value
            for key, value in values.items()}


# A session's objects whose attributes hold ForRow wrappers during its flush; a flush that fails
# midway leaves them wrapped, so the rollback unwraps them before anyone reads them.
_WRAPPED = "referral_bot_wrapped"


def _wrap(target: Any, keys: tuple[str, ...]) -> None:
    if getattr(target, ROW_UID, None) is None:
        setattr(target, ROW_UID, new_row_uid())
    uid = getattr(target, ROW_UID)
    state = target.__dict__
    for key in keys:
        value = state.get(key)
        if value is not None and not isinstance(value, ForRow):
            state[key] = ForRow(value, uid)
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_WRAPPED, []).append(target)


def _unwrap(target: Any) -> None:
    state = target.__dict__
    for key, value in list(state.items()):
        if isinstance(value, ForRow):
            state[key] = value.value


def _before_insert(mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    keys = encrypted_attributes(mapper)
    if keys:
        _wrap(target, keys)


def _before_update(mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    keys = encrypted_attributes(mapper)
    if not keys:
        return
    attributes = inspect(target).attrs
    # Only what changed is written; the rest stays as it is in the row.
    _wrap(target, tuple(key for key in keys if attributes[key].history.added))


def _after_write(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    _unwrap(target)


def _after_flush(session: Session, _context: Any) -> None:
    session.info.pop(_WRAPPED, None)


def _after_rollback(session: Session, _previous: Any) -> None:
    for target in session.info.pop(_WRAPPED, []):
        _unwrap(target)


def bind_rows_on_flush(base: type) -> None:
    """Install the flush hooks for every model of this declarative base."""
    event.listen(base, "before_insert", _before_insert, propagate=True)
    event.listen(base, "before_update", _before_update, propagate=True)
    event.listen(base, "after_insert", _after_write, propagate=True)
    event.listen(base, "after_update", _after_write, propagate=True)
    event.listen(Session, "after_flush_postexec", _after_flush)
    event.listen(Session, "after_soft_rollback", _after_rollback)
