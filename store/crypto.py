"""Encryption of personal data at rest (AES-256-GCM) and keyed hashes for look-ups.

One key, from DATA_KEY, is stretched with HKDF into separate keys for encryption and for
hashing, so a hash never reveals anything about the cipher key. `configure()` is called once
at start-up; the column types in store/types.py use the configured keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["DecryptionError", "KeyMissing", "configure", "decrypt", "encrypt", "is_configured", "keyed_hash"]

# The first byte says which scheme and key wrote a value, so keys can be rotated later.
_VERSION = b"\x01"
_NONCE_BYTES = 12


class KeyMissing(RuntimeError):
    """Personal data was read or written before a data key was configured."""


class DecryptionError(RuntimeError):
    """A stored value could not be decrypted: wrong DATA_KEY, or the value was tampered with."""


class _Keys:
    def __init__(self, master: bytes) -> None:
        self.aead = AESGCM(_derive(master, b"referral-bot field encryption v1"))
        self.mac = _derive(master, b"referral-bot lookup hash v1")


_keys: _Keys | None = None


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def configure(master_key: bytes) -> None:
    """Use this 32-byte key for everything encrypted or hashed from now on."""
    global _keys
    if len(master_key) != 32:
        raise ValueError("the data key must be 32 bytes")
    _keys = _Keys(master_key)


def is_configured() -> bool:
    return _keys is not None


def _current() -> _Keys:
    if _keys is None:
        raise KeyMissing("no data key configured: call store.crypto.configure() at start-up")
    return _keys


def encrypt(plaintext: bytes, purpose: str) -> bytes:
    """Encrypt and authenticate; `purpose` (the column) is bound in so values can't be swapped."""
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + _current().aead.encrypt(nonce, plaintext, purpose.encode())


def decrypt(blob: bytes, purpose: str) -> bytes:
    """Reverse `encrypt`, refusing anything altered or written for another purpose."""
    if blob[:1] != _VERSION:
        raise DecryptionError(f"unknown encryption version in {purpose}")
    nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        return _current().aead.decrypt(nonce, sealed, purpose.encode())
    except InvalidTag as exc:
        raise DecryptionError(f"cannot decrypt {purpose}: wrong DATA_KEY or altered data") from exc


def keyed_hash(value: str, purpose: str) -> str:
    """A stable, keyed fingerprint for finding rows by a personal value without storing it."""
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(_current().mac, message, hashlib.sha256).hexdigest()
