"""SMS text facts: GSM-7 membership, segment counts, and making text GSM-7 safe."""

from __future__ import annotations

import math
import re
import unicodedata

__all__ = ["MAX_SINGLE", "capacity", "gsm_safe", "is_gsm7", "plain", "segment_count", "sms_length"]

MAX_SINGLE = 160

# GSM 03.38 basic character set (the escape code 0x1B is not a character a user can type).
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as ESC + char, so it costs two septets.
_EXTENSION = frozenset("^{}\\[~]|€\f")

_GSM_SINGLE = 160
_GSM_PART = 153  # 7 septets of each part go on the concatenation header
_UCS2_SINGLE = 70
_UCS2_PART = 67

# Characters that phones and word processors slip in; any one of them would make the whole
# message UCS-2 (70 characters a segment instead of 160).
_PLAIN = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u02bc": "'", "`": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-",
        "\u2026": "...",
        "\u2022": "-", "\u2023": "-", "\u2043": "-", "\u25e6": "-", "\u2219": "-", "\u00b7": "-",
        "\t": " ", "\u00a0": " ", "\u1680": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ",
        **{chr(c): " " for c in range(0x2000, 0x200B)},
        "\u2028": "\n", "\u2029": "\n",
        # Invisible characters: dropped, since they carry no meaning in an SMS.
        "\u00ad": None, "\u200b": None, "\u2060": None, "\ufeff": None,
    }
)


def is_gsm7(text: str) -> bool:
    """Return True if every character is in the GSM 03.38 basic set or its extension table."""
    return all(c in _BASIC or c in _EXTENSION for c in text)


def sms_length(text: str) -> int:
    """Return the length on the wire: GSM-7 septets if possible (extension characters take two), else UTF-16 units."""
    if is_gsm7(text):
        return sum(2 if c in _EXTENSION else 1 for c in text)
    # UCS-2 here means UTF-16 on the wire: characters beyond the BMP (emoji) take two units.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def capacity(segments: int, gsm7: bool = True) -> int:
    """Return the longest sms_length that fits in `segments` segments."""
    single, part = (_GSM_SINGLE, _GSM_PART) if gsm7 else (_UCS2_SINGLE, _UCS2_PART)
    return single if segments == 1 else part * segments


def segment_count(text: str) -> int:
    """Return how many SMS segments the text needs (GSM-7 if possible, else UCS-2)."""
    length = sms_length(text)
    if is_gsm7(text):
        return 1 if length <= _GSM_SINGLE else math.ceil(length / _GSM_PART)
    return 1 if length <= _UCS2_SINGLE else math.ceil(length / _UCS2_PART)


def plain(text: str) -> str:
    """Replace typographic quotes, dashes, ellipses, bullets and odd spaces with ASCII."""
    return text.translate(_PLAIN)


# Letters in common names that NFKD does not decompose (Polish, Croatian, Turkish, Icelandic).
_LETTERS = {
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th",
    "Ð": "D", "ð": "d", "ı": "i", "Ħ": "H", "ħ": "h", "Ŧ": "T", "ŧ": "t",
}


def _transliterate(char: str) -> str:
    """Return a GSM-7 stand-in for one character: itself, its unaccented form, or '?'."""
    if char in _BASIC or char in _EXTENSION:
        return char
    if char in _LETTERS:
        return _LETTERS[char]
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf"):
        # Combining marks and format characters (variation selectors, joiners) carry no letter.
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", char):
        if part in _BASIC or part in _EXTENSION:
            out.append(part)
        elif unicodedata.category(part) not in ("Mn", "Me"):
            out.append("?")
    return "".join(out) or "?"


def gsm_safe(text: str) -> str:
    """Return text as one GSM-7 line: plain punctuation, single spaces, accents dropped."""
    spaced = "".join(
        " " if c.isspace() or unicodedata.category(c) == "Cc" else c for c in plain(text)
    )
    transliterated = "".join(_transliterate(c) for c in spaced)
    # Transliteration can itself produce spaces (NFKD of some compatibility characters).
    return re.sub(r"\s+", " ", transliterated).strip()
