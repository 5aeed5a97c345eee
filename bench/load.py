"""A closed-loop load client: N referrers, each on one keep-alive HTTP/1.1 connection, texting signed webhooks.

Raw asyncio streams, not an HTTP library: the client must cost far less per request than the servers it
measures (httpx tops out below the bare endpoint). Each referrer answers what the dialog asks, from a
script the dialog itself produced (see `referral_script`), and starts a new referral when one is sent.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from twilio.request_validator import RequestValidator

from flows.dialog import State, step
from flows.model import Context, Draft
from flows.questions import BY_KEY

__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "LoadResult", "referral_script", "run_load"]

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
TWILIO_NUMBER = "+447700900000"
INBOUND_PATH = "/sms/inbound"
LONDON = ZoneInfo("Europe/London")
FIRST = ["Jordan", "Amara", "Tyrese", "Keisha", "Malik", "Shanice", "Dwayne", "Precious", "Kofi", "Leah",
         "Nathan", "Imani", "Marcus", "Zara", "Ellis", "Ruby", "Idris", "Nia", "Callum", "Maya"]
LAST = ["Okafor", "Campbell", "Mensah", "Reid", "Adeyemi", "Clarke", "Bennett", "Osei", "Walker", "Hussain",
        "Thompson", "Francis", "Barker", "Nwosu", "Grant", "Lawson", "Achebe", "Daley", "Morgan", "Kamara"]


def _answers(n: int) -> dict[str, str]:
    """One referral's answers; the young person's name, birthday and number differ from referral to referral
    (else every referral would be a possible repeat of every earlier one)."""
    return {
        "dob": f"{1 + n % 28:02d}/{1 + (n // 28) % 12:02d}/2006", "borough": "lambeth", "gang_involved": "y",
        "risks": "1 3", "motivated": "yes", "willing": "y", "extensive_support": "n", "services_local": "no",
        "referrer_name": "Sam Referrer", "referrer_role": "Youth worker", "referrer_org": "Lambeth YOT",
        "referrer_email": "sam.referrer@yot.example.org", "relationship": "their youth worker",
        "yp_name": f"{FIRST[n % 20]} {LAST[(n // 20) % 20]}", "yp_known_as": "skip", "yp_gender": "2",
        "yp_mobile": f"07700 8{n % 100000:05d}", "yp_language": "English", "consent": "y", "mash": "y",
        "risk_history": "1", "risk_note": "skip", "needs": "1 4 7", "specialist": "1", "agencies": "1 3",
        "safe_contact": "1 2", "best_times": "after 4pm", "urgency": "2", "notes": "skip",
    }


VARYING = ("dob", "yp_name", "yp_mobile")
_BASE: dict[str, list[str]] = {}


def referral_script(n: int, sender: str) -> list[str]:
    """What referrer `n` texts, in order, for one whole referral: whatever the dialog asks, answered.

    The dialog is walked once (it is too slow to walk for every referral inside a timed run); every referral
    takes the same path (all the young people are 20), with its own name, birthday and number put in.
    """
    if "base" not in _BASE:
        _BASE["base"] = _walk(_answers(0), sender)
    first, mine = _answers(0), _answers(n)
    swap = {first[key]: mine[key] for key in VARYING}
    return [swap.get(text, text) for text in _BASE["base"]]


def _walk(answers: dict[str, str], sender: str) -> list[str]:
    context = Context(now=datetime.now(LONDON), sender_phone=sender)
    texts: list[str] = []
    draft = Draft()
    while draft.state != State.DONE:
        if draft.state == State.SUMMARY:
            text = "YES"
        elif draft.state == State.NEW:
            text = "hi"
        elif draft.state in answers:
            text = answers[draft.state]
        elif BY_KEY[draft.state].optional:
            text = "skip"
        else:
            raise LookupError(f"the bench has no answer for {draft.state!r}: add one to bench/load.py")
        texts.append(text)
        draft = step(draft, text, context).draft
        if len(texts) > 200 or draft.state == State.SCREENED_OUT:
            raise LookupError(f"the bench's referral did not reach the end (at {draft.state})")
    return texts


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    referrals_sent: int = 0
    sids: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _Referrer:
    """One simulated referrer on one connection; a new number for each referral it makes."""

    def __init__(self, index: int, public_url: str, *, scripted: bool) -> None:
        self.index = index
        self.public_url = public_url
        self.scripted = scripted
        self.referral = 0
        self.position = 0
        self.sent = 0
        self._new_referral()

    def _new_referral(self) -> None:
        number = self.index * 1000 + self.referral
        self.sender = f"+4477009{number:05d}"
        self.script = referral_script(number, self.sender) if self.scripted else ["hi"]
        self.position = 0

    def next_text(self) -> str:
        return self.script[self.position]

    def answered(self) -> bool:
        """Move on; True when that text sent a referral."""
        self.position += 1
        if self.position < len(self.script):
            return False
        self.referral += 1
        self._new_referral()
        return self.scripted


async def _one_referrer(referrer: _Referrer, host: str, port: int, validator: RequestValidator, tag: str,
                        result: LoadResult, window: tuple[float, float], stop_at: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    start, end = window
    try:
        while time.monotonic() < stop_at:
            referrer.sent += 1
            sid = f"SM{tag}{referrer.index:04d}{referrer.sent:010d}".ljust(34, "0")[:34]
            params = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "Body": referrer.next_text(),
                      "From": referrer.sender, "To": TWILIO_NUMBER, "MessageSid": sid, "SmsSid": sid,
                      "NumMedia": "0", "NumSegments": "1"}
            body = urlencode(params).encode()
            signature = validator.compute_signature(referrer.public_url, params)
            request = (f"POST {INBOUND_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
            sent_at = time.monotonic()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            payload = await reader.readexactly(length) if length else b""
            done_at = time.monotonic()
            ok = head.startswith(b"HTTP/1.1 200")
            if start <= done_at <= end:  # answered inside the measured window
                result.requests += 1
                result.latencies.append(done_at - sent_at)
                if not ok:
                    result.errors += 1
            if not ok:
                continue  # the same text again, as a referrer would
            result.sids.append(sid)
            if referrer.answered() and b"Referral" in payload:
                result.referrals_sent += 1
    finally:
        writer.close()


async def run_load(ports: list[int], public_urls: list[str], *, referrers: int = 32, warmup: float = 3.0,
                   seconds: float = 15.0, scripted: bool = True, tag: str = "a", host: str = "127.0.0.1",
                   first_referrer: int = 0) -> LoadResult:
    """Drive the servers (referrers spread over `ports`) for warm-up plus `seconds`; measured after warm-up."""
    validator = RequestValidator(AUTH_TOKEN)
    result = LoadResult()
    people = [_Referrer(first_referrer + i, public_urls[i % len(ports)] + INBOUND_PATH, scripted=scripted)
              for i in range(referrers)]
    now = time.monotonic()
    window = (now + warmup, now + warmup + seconds)
    await asyncio.gather(*(_one_referrer(person, host, ports[i % len(ports)], validator, tag, result, window,
                                         window[1]) for i, person in enumerate(people)))
    result.seconds = seconds
    return result
