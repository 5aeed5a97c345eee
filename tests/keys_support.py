"""Values as earlier versions wrote them, for tests that existing databases keep working."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def legacy_blob(master: bytes, plaintext: bytes, purpose: str) -> bytes:
    """A value as written before keys had ids: version 1, bound to its column only."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"referral-bot field encryption v1").derive(master)
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, purpose.encode())
