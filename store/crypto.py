"""Encryption of personal data at rest (AES-256-GCM) and keyed hashes for look-ups, under rotating keys.

Each key from DATA_KEY is stretched with HKDF into separate keys for encryption and for hashing,
so a hash never reveals anything about the cipher key. The first key is current: everything is
written under it. Older keys are kept for reading, until `referral-bot rotate-key` has moved every
value to the current one. `configure()` is called once at start-up.

A value written now is laid out as

    0x02 | key id (4 bytes) | nonce (12 bytes) | AES-GCM ciphertext and tag

and its associated data binds it to its column (the purpose) and to its row (the row's random
`row_uid`), so it cannot be moved to another column or another row. Values written before keys
carried ids start with 0x01, are bound to their column only, and are read with any configured key.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DecryptionError",
    "KeyMissing",
    "configure",
    "configured_key_ids",
    "current_key_id",
    "current_prefix",
    "decrypt",
    "encrypt",
    "is_configured",
    "is_current",
    "key_id_of",
    "keyed_hash",
    "keyed_hashes",
]

_LEGACY = b"\x01"
_VERSION = b"\x02"
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_HEADER_BYTES = 1 + _KEY_ID_BYTES


class KeyMissing(RuntimeError):
    """Personal data was read or written before a data key was configured."""


class DecryptionError(RuntimeError):
    """A stored value could not be decrypted: wrong DATA_KEY, or the value was altered or moved."""


class _Key:
    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise ValueError("the data key must be 32 bytes")
        self.id = _derive(master, b"referral-bot key id v1")[:_KEY_ID_BYTES]
        self.aead = AESGCM(_derive(master, b"referral-bot field encryption v1"))
        self.mac = _derive(master, b"referral-bot lookup hash v1")


_keys: list[_Key] = []


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def configure(current: bytes, *older: bytes) -> None:
    """Write under `current` from now on; read under it and any `older` key."""
    global _keys
    keys = [_Key(key) for key in (current, *older)]
    if len({key.id for key in keys}) != len(keys):
        raise ValueError("the same data key is given twice (or two keys share an id): make a new key")
    _keys = keys


def is_configured() -> bool:
    return bool(_keys)


def _ring() -> list[_Key]:
    if not _keys:
        raise KeyMissing("no data key configured: call store.crypto.configure() at start-up")
    return _keys


def current_key_id() -> str:
    """The current key's id, as hex: it opens every value written now."""
    return _ring()[0].id.hex()


def configured_key_ids() -> list[str]:
    """The id of every configured key, current first."""
    return [key.id.hex() for key in _ring()]


def current_prefix() -> bytes:
    """The first bytes of every value written under the current key."""
    return _VERSION + _ring()[0].id


def key_id_of(blob: bytes) -> str | None:
    """Which key wrote a value (hex), or None for a value from before keys carried ids."""
    return blob[1:_HEADER_BYTES].hex() if blob[:1] == _VERSION else None


def is_current(blob: bytes) -> bool:
    """Whether a value is already written under the current key (so a rotation can leave it)."""
    return blob[:_HEADER_BYTES] == current_prefix()


def _associated(header: bytes, purpose: str, row: str) -> bytes:
    return header + purpose.encode() + b"\x00" + row.encode()


def encrypt(plaintext: bytes, purpose: str, row: str = "") -> bytes:
    """Encrypt under the current key, bound to `purpose` (the column) and `row` (the row's uid)."""
    key = _ring()[0]
    header = _VERSION + key.id
    nonce = os.urandom(_NONCE_BYTES)
    return header + nonce + key.aead.encrypt(nonce, plaintext, _associated(header, purpose, row))


def decrypt(blob: bytes, purpose: str, row: str = "") -> bytes:
    """Reverse `encrypt`, refusing anything altered, or written for another column or row."""
    version = blob[:1]
    if version == _VERSION:
        header = blob[:_HEADER_BYTES]
        keys = [key for key in _ring() if key.id == header[1:]]
        if not keys:
            raise DecryptionError(f"{purpose} was written under key {header[1:].hex()}, which is not in DATA_KEY")
        return _open(keys, blob[_HEADER_BYTES:], _associated(header, purpose, row), purpose)
    if version == _LEGACY:
        # Written before keys had ids (and before values were bound to rows): any key may have written it.
        return _open(_ring(), blob[1:], purpose.encode(), purpose)
    raise DecryptionError(f"unknown encryption version in {purpose}")


def _open(keys: list[_Key], sealed: bytes, associated: bytes, purpose: str) -> bytes:
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    for key in keys:
        try:
            return key.aead.decrypt(nonce, body, associated)
        except InvalidTag:
            continue
    raise DecryptionError(f"cannot decrypt {purpose}: wrong DATA_KEY, or the value was altered or moved")


def _hash(key: _Key, value: str, purpose: str) -> str:
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(key.mac, message, hashlib.sha256).hexdigest()


def keyed_hash(value: str, purpose: str) -> str:
    """A stable, keyed fingerprint (under the current key) for finding rows by a personal value."""
    return _hash(_ring()[0], value, purpose)


def keyed_hashes(value: str, purpose: str) -> list[str]:
    """The fingerprint under every configured key, current first: what to look for while keys rotate."""
    return [_hash(key, value, purpose) for key in _ring()]
