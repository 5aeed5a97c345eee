"""Fewer texts, counted over signed Twilio webhooks: a first referral, a returning one, FORGET, and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channels_support import LiveApp
from fakes.twilio_api import FakeTwilio
from sqlalchemy import func, select, text, update
from test_sms import text_in

from flows import messages
from flows.channels import Channel
from store.models import Referral, RememberedReferrer
from store.remembered import recall_referrer
from store.retention import purge_expired

REFERRER = "+447700900123"
SCREENING = ["hi", "14/02/2006", "Lambeth", "Y 1 3", "Y", "N"]
ABOUT_THE_YOUNG_PERSON = ["their youth worker", "Jay Smith known as JJ", "2", "07700 900456 1 2 after 4pm", "English",
                          "Y", "1 threats since he left", "1 4 8", "1 3", "2 prefers a male worker", "YES"]
# A newcomer's first referral from a mobile, for a 20-year-old, answering Y to keeping their details.
FIRST = [*SCREENING, "Sam Okafor", "Youth worker, Redthread", "sam@redthread.example.org", *ABOUT_THE_YOUNG_PERSON,
         "Y"]
# The same referrer's next referral from the same number.
RETURNING = [*SCREENING, "Y", *ABOUT_THE_YOUNG_PERSON]
REFERRING_AS = "Good, they can be referred. Referring as Sam Okafor, Youth worker, Redthread. Y to use, or EDIT"


_SIDS = iter(range(1, 10**6))


class Chat:
    """One phone's conversation with the app: every text sent, and every reply, numbered."""

    def __init__(self, live: LiveApp, twilio: FakeTwilio, sender: str = REFERRER) -> None:
        self.live, self.twilio, self.sender = live, twilio, sender
        self.sent = 0
        self.lines: list[str] = []

    async def send(self, body: str) -> list[str]:
        self.sent += 1
        status, replies = await self.text_in(body)
        assert status == 200
        self.lines.append(f"[{self.sent}] > {body}")
        self.lines += ["      < " + reply.replace("\n", "\n        ") for reply in replies]
        return replies

    async def text_in(self, body: str) -> tuple[int, list[str]]:
        return await text_in(self.live, self.twilio, body, f"SM{next(_SIDS):032x}", self.sender)

    async def send_all(self, bodies: list[str]) -> list[list[str]]:
        return [await self.send(body) for body in bodies]


async def _referrals(live: LiveApp) -> list[Referral]:
    async with live.sessions() as db:
        return list((await db.execute(select(Referral).order_by(Referral.id))).scalars())


async def _kept(live: LiveApp) -> dict[str, object] | None:
    async with live.sessions() as db:
        return await recall_referrer(db, Channel.SMS, REFERRER)


async def test_a_first_referral_takes_at_most_25_texts_and_a_returning_one_at_most_18(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    first = Chat(live, fake_twilio)
    replies = await first.send_all(FIRST)
    assert replies[-2][0].startswith("Thank you. Referral ")
    assert replies[-2][1] == messages.remember_offer_text(True, replacing=False)
    assert replies[-1] == [messages.kept_text(True)]
    assert first.sent == len(FIRST) <= 25
    assert await _kept(live) == {"referrer_name": "Sam Okafor",
                                 "referrer_job": {"role": "Youth worker", "org": "Redthread"},
                                 "referrer_email": "sam@redthread.example.org"}

    again = Chat(live, fake_twilio)
    replies = await again.send_all(RETURNING)
    assert replies[len(SCREENING) - 1] == [REFERRING_AS]
    assert replies[-1][0].startswith("Thank you. Referral ") and len(replies[-1]) == 1  # no second offer
    assert again.sent == len(RETURNING) <= 18
    first_referral, returning = await _referrals(live)
    for referral in (first_referral, returning):
        assert referral.details["referrer_name"] == "Sam Okafor"
        assert referral.details["referrer_job"] == {"role": "Youth worker", "org": "Redthread"}
        assert referral.details["referrer_phone"] == REFERRER
        assert referral.details["yp_name"]["known_as"] == "JJ"
        assert referral.urgency == "soon"
    # What the referrer sends and reads (pytest -s shows it).
    print("\n".join([f"FIRST REFERRAL: {first.sent} texts", *first.lines, "",
                      f"RETURNING REFERRAL: {again.sent} texts", *again.lines]))


async def test_forget_deletes_the_kept_details_and_the_next_referral_asks_again(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await Chat(live, fake_twilio).send_all(FIRST)
    assert await _kept(live) is not None
    chat = Chat(live, fake_twilio)
    assert await chat.send("FORGET") == [messages.FORGOTTEN]
    assert await _kept(live) is None
    replies = await chat.send_all(SCREENING)
    asked = "Good, they can be referred. Now about you. Your full name?"
    assert replies[-1] == [asked]
    assert await chat.send("forget") == [messages.NOTHING_KEPT, asked]


async def test_kept_details_are_encrypted_and_found_only_from_the_same_number(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await Chat(live, fake_twilio).send_all(FIRST)
    async with live.sessions() as db:
        raw = (await db.execute(text("SELECT * FROM remembered_referrers"))).one()
    assert not any(secret in repr(raw) for secret in ("Sam Okafor", "Redthread", "sam@", REFERRER, "7700900123"))
    other = Chat(live, fake_twilio, sender="+447700900777")
    replies = await other.send_all(SCREENING)
    assert replies[-1] == ["Good, they can be referred. Now about you. Your full name?"]


async def test_kept_details_unused_for_the_retention_period_are_forgotten_and_used_ones_kept(
    live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await Chat(live, fake_twilio).send_all(FIRST)
    await Chat(live, fake_twilio, sender="+447700900777").send_all(FIRST)
    settings = live.settings
    now = datetime.now(UTC)
    async with live.sessions() as db, db.begin():
        # One referrer last used theirs 366 days ago; the other 364.
        await db.execute(update(RememberedReferrer).values(used_at=now - timedelta(days=366))
                         .where(RememberedReferrer.id == select(func.min(RememberedReferrer.id)).scalar_subquery()))
        await db.execute(update(RememberedReferrer).values(used_at=now - timedelta(days=364))
                         .where(RememberedReferrer.id == select(func.max(RememberedReferrer.id)).scalar_subquery()))
    async with live.sessions() as db, db.begin():
        counts = await purge_expired(db, now, draft_ttl_hours=settings.draft_ttl_hours,
                                     declined_days=settings.declined_retention_days,
                                     closed_days=settings.closed_retention_days,
                                     remembered_days=settings.remember_referrer_days)
    assert settings.remember_referrer_days == 365
    assert counts.referrers == 1
    assert await _kept(live) is None
    async with live.sessions() as db:
        assert await recall_referrer(db, Channel.SMS, "+447700900777") is not None
    # Using kept details starts the period again.
    async with live.sessions() as db, db.begin():
        await db.execute(update(RememberedReferrer).values(used_at=now - timedelta(days=364)))
    await Chat(live, fake_twilio, sender="+447700900777").send_all([*SCREENING, "Y"])
    async with live.sessions() as db, db.begin():
        counts = await purge_expired(db, now + timedelta(days=2), draft_ttl_hours=settings.draft_ttl_hours,
                                     declined_days=settings.declined_retention_days,
                                     closed_days=settings.closed_retention_days,
                                     remembered_days=settings.remember_referrer_days)
    assert counts.referrers == 0
