"""Sessions and reminders end to end: booked, reminded at the right moments, answered by SMS, exactly as planned."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from channels_support import PUBLIC_BASE_URL, TWILIO_NUMBER, LiveApp
from fakes.twilio_api import FakeTwilio, signed_inbound
from sqlalchemy import select
from staff_support import make_user
from support import LONDON, WHOLE_REFERRAL

from bot.actions import Actor, act
from bot.sessions import add_session, cancel_session, send_first_contact
from flows.discreet import check_discreet, confirmed_text
from flows.process import Action, Refused, Role
from store.models import Appointment, AuditEntry, CaseworkerNotice, OutboundMessage

REFERRER = "+447700900123"
YOUNG = "+447700900456"
CLI = Actor("cli", Role.ADMIN)


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


@pytest.fixture
def clock() -> Iterator[Any]:
    # Tuesday 1 December 2026, 10:00 in London: the unit is open, no quiet hours.
    with time_machine.travel(london("2026-12-01 10:00"), tick=True) as traveller:
        yield traveller


async def sms(live: LiveApp, twilio: FakeTwilio, body: str, sid: str, sender: str) -> list[str]:
    params, headers = signed_inbound(
        PUBLIC_BASE_URL + "/sms/inbound", twilio.auth_token, From=sender, To=TWILIO_NUMBER, Body=body, MessageSid=sid
    )
    response = await live.http.post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


async def allocated_referral(live: LiveApp, twilio: FakeTwilio, *, introduced: bool = True) -> str:
    """A referral allocated to Cas; `introduced`: the first message has gone to the young person (and is cleared)."""
    replies: list[str] = []
    for n, text in enumerate(t for t in WHOLE_REFERRAL if t != "07700 900123"):
        replies = await sms(live, twilio, text, f"SMref{n:029d}", REFERRER)
    reference = replies[0].split("Referral ", 1)[1].split(" ", 1)[0]
    await make_user(live.sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    settings = live.settings
    async with live.sessions() as db, db.begin():
        for action, extra in (
            (Action.CLAIM, {}),
            (Action.ACCEPT, {}),
            (Action.ALLOCATE, {"caseworker": "cas@unit.example.org"}),
        ):
            await act(db, settings, reference, action, CLI, datetime.now(UTC), **extra)
    while await live.dispatcher.run_once():  # the referrer's texts: accepted, then allocated (one at a time)
        pass
    if introduced:
        await introduce(live, reference)
        await live.dispatcher.run_once()
        assert "save it" in twilio.messages[-1].body
    twilio.messages.clear()
    return reference


async def introduce(live: LiveApp, reference: str) -> int:
    """The caseworker sends the first message; how many reminders it let go."""
    async with live.sessions() as db, db.begin():
        return await send_first_contact(db, live.settings, reference, CLI, datetime.now(UTC))


async def book(live: LiveApp, reference: str, when: str, place: str = "the usual place") -> int:
    moment = datetime.fromisoformat(when)
    async with live.sessions() as db, db.begin():
        appointment = await add_session(db, live.settings, reference, moment.date(), moment.time(), place, CLI,
                                        datetime.now(UTC))
    return appointment.id


async def reminders(live: LiveApp, session_id: int) -> list[OutboundMessage]:
    async with live.sessions() as db:
        found = await db.execute(select(OutboundMessage).where(OutboundMessage.appointment_id == session_id)
                                 .order_by(OutboundMessage.next_attempt_at))
        return list(found.scalars())


async def test_a_session_is_reminded_the_day_before_and_two_hours_before_and_confirmed_by_y(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    planned = await reminders(live, session)
    assert [(r.planned_for, r.next_attempt_at) for r in planned] == [
        ("1d@18:00", london("2026-12-01 18:00").astimezone(UTC)),
        ("2h", london("2026-12-02 13:00").astimezone(UTC)),
    ]
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []  # nothing is due yet

    clock.move_to(london("2026-12-01 18:00:05"))
    await live.dispatcher.run_once()
    first = fake_twilio.messages[-1]
    assert first.to == YOUNG
    assert first.body.startswith("Hi Jaylen, it's Cas.") and "the usual place" in first.body
    assert check_discreet(first.body) == []

    assert await sms(live, fake_twilio, "yeah", "SMyp-confirm-000000000000000000", YOUNG) == [
        confirmed_text("Cas Worker")
    ]
    async with live.sessions() as db:
        assert (await db.get(Appointment, session)).status == "confirmed"  # type: ignore[union-attr]

    clock.move_to(london("2026-12-02 13:00:05"))
    await live.dispatcher.run_once()
    assert len(fake_twilio.messages) == 2
    assert "today at 3:00pm" in fake_twilio.messages[-1].body.lower() or "3:00pm" in fake_twilio.messages[-1].body


async def test_each_reply_is_about_the_latest_text_that_asked_and_a_change_of_mind_counts(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    later = await book(live, reference, "2026-12-09 15:00")
    sooner = await book(live, reference, "2026-12-03 11:00")
    # Before any reminder, the last text that asked anything is the first message: an N is not about a session.
    await sms(live, fake_twilio, "N", "SMyp-early-n-0000000000000000000", YOUNG)
    clock.move_to(london("2026-12-02 18:00:05"))  # the sooner session's reminder goes
    await live.dispatcher.run_once()
    assert "Thu 3 Dec" in fake_twilio.messages[-1].body
    reply = await sms(live, fake_twilio, "can't make it", "SMyp-no-00000000000000000000000", YOUNG)
    assert "Cas" in reply[0]
    reply = await sms(live, fake_twilio, "can we meet at the park instead?", "SMyp-q-000000000000000000000000", YOUNG)
    assert reply[0].startswith("Thanks")
    async with live.sessions() as db:
        assert (await db.get(Appointment, sooner)).status == "declined"  # type: ignore[union-attr]
        assert (await db.get(Appointment, later)).status == "scheduled"  # type: ignore[union-attr]
    # They change their mind: a Y after the N confirms the same session again, and its reminders come back.
    answer = await sms(live, fake_twilio, "Y", "SMyp-yes-after-no-00000000000000", YOUNG)
    assert answer == [confirmed_text("Cas Worker")]
    async with live.sessions() as db:
        assert (await db.get(Appointment, sooner)).status == "confirmed"  # type: ignore[union-attr]
        assert (await db.get(Appointment, later)).status == "scheduled"  # type: ignore[union-attr]
        notices = (await db.execute(select(CaseworkerNotice.kind, CaseworkerNotice.text,
                                           CaseworkerNotice.appointment_id).order_by(CaseworkerNotice.id))).all()
    assert [tuple(n) for n in notices] == [
        ("message", "N", None),
        ("cant_come", "can't make it", sooner),
        ("message", "can we meet at the park instead?", sooner),
        ("confirmed", "Y", sooner),
    ]
    # The reminder still ahead is planned again; the one whose time has passed is not sent a second after the Y.
    assert [r.planned_for for r in await reminders(live, sooner) if r.status == "pending"] == ["2h"]
    sent = len(fake_twilio.messages)
    await live.dispatcher.run_once()
    assert len(fake_twilio.messages) == sent

    clock.move_to(london("2026-12-08 18:00:05"))  # now the later session's reminder is the latest question
    await live.dispatcher.run_once()
    await sms(live, fake_twilio, "no", "SMyp-later-no-000000000000000000", YOUNG)
    async with live.sessions() as db:
        assert (await db.get(Appointment, later)).status == "declined"  # type: ignore[union-attr]
        assert (await db.get(Appointment, sooner)).status == "confirmed"  # type: ignore[union-attr]


async def test_stop_from_the_young_person_stops_every_reminder(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    assert await sms(live, fake_twilio, "STOP", "SMyp-stop-000000000000000000000", YOUNG) == []
    clock.move_to(london("2026-12-02 14:00"))
    await live.dispatcher.run_once()
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []
    assert {r.status for r in await reminders(live, session)} == {"suppressed"}


async def test_cancelling_a_session_nobody_told_them_of_texts_nothing(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    async with live.sessions() as db, db.begin():
        await cancel_session(db, live.settings, session, CLI, datetime.now(UTC))
    assert {r.status for r in await reminders(live, session)} == {"cancelled"}
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []  # no reminder had gone: they never knew of it


async def test_cancelling_a_session_they_were_reminded_of_tells_them_even_with_no_reminder_left(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    clock.move_to(london("2026-12-01 18:00:05"))
    await live.dispatcher.run_once()
    clock.move_to(london("2026-12-02 13:00:05"))
    await live.dispatcher.run_once()
    assert len(fake_twilio.messages) == 2  # both reminders went: none is waiting any more
    async with live.sessions() as db, db.begin():
        await cancel_session(db, live.settings, session, CLI, datetime.now(UTC))
    await live.dispatcher.run_once()
    told = fake_twilio.messages[-1]
    assert len(fake_twilio.messages) == 3 and told.to == YOUNG and "not meeting Wed 2 Dec" in told.body
    assert check_discreet(told.body) == []


async def test_moving_a_session_they_were_not_told_of_texts_nothing_but_plans_new_reminders(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from bot.sessions import move_session

    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    async with live.sessions() as db, db.begin():
        await move_session(db, live.settings, session, date(2026, 12, 4), time(16, 0), "", CLI, datetime.now(UTC))
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []
    assert [(r.planned_for, r.status) for r in await reminders(live, session) if r.status == "pending"] == [
        ("1d@18:00", "pending"), ("2h", "pending")]


async def test_nothing_goes_to_the_young_person_before_the_first_message(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio, introduced=False)
    session = await book(live, reference, "2026-12-01 11:00")  # within the hour: a reminder would be due at once
    assert await reminders(live, session) == []
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []
    assert await introduce(live, reference) == 1  # the reminder is planned now, to follow the first message
    await live.dispatcher.run_once()
    assert [m.body for m in fake_twilio.messages] == [fake_twilio.messages[0].body]
    assert "save it" in fake_twilio.messages[0].body
    clock.move_to(london("2026-12-01 10:05"))
    await live.dispatcher.run_once()
    assert len(fake_twilio.messages) == 2 and "today at 11:00am" in fake_twilio.messages[1].body


async def test_a_reminder_due_while_the_dispatcher_was_down_is_missed_once_the_session_started(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    clock.move_to(london("2026-12-02 15:30"))
    await live.dispatcher.run_once()
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []
    assert [r.status for r in await reminders(live, session)] == ["missed", "missed"]


async def test_a_session_within_the_hour_is_reminded_once_and_at_once(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-01 11:00")
    planned = await reminders(live, session)
    assert len(planned) == 1
    await live.dispatcher.run_once()
    assert len(fake_twilio.messages) == 1


async def test_the_first_contact_goes_only_when_the_caseworker_asks_and_only_once(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio, introduced=False)
    await live.dispatcher.run_once()
    assert fake_twilio.messages == []  # never automatically
    async with live.sessions() as db, db.begin():
        await send_first_contact(db, live.settings, reference, CLI, datetime.now(UTC))
    await live.dispatcher.run_once()
    assert fake_twilio.messages[0].to == YOUNG and "save" in fake_twilio.messages[0].body.lower()
    with pytest.raises(Refused, match="already sent"):
        async with live.sessions() as db, db.begin():
            await send_first_contact(db, live.settings, reference, CLI, datetime.now(UTC))


async def test_a_y_to_the_first_message_is_not_taken_as_a_y_to_a_session_booked_meanwhile(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from flows.discreet import saved_text

    reference = await allocated_referral(live, fake_twilio, introduced=False)
    session = await book(live, reference, "2026-12-02 15:00")
    async with live.sessions() as db, db.begin():
        await send_first_contact(db, live.settings, reference, CLI, datetime.now(UTC))
    await live.dispatcher.run_once()
    assert "save" in fake_twilio.messages[-1].body.lower()

    assert await sms(live, fake_twilio, "Y", "SMyp-saved-y-0000000000000000000", YOUNG) == [saved_text("Cas Worker")]
    async with live.sessions() as db:
        assert (await db.get(Appointment, session)).status == "scheduled"  # type: ignore[union-attr]

    clock.move_to(london("2026-12-01 18:00:05"))  # the reminder goes; a Y now is about the session
    await live.dispatcher.run_once()
    assert await sms(live, fake_twilio, "Y", "SMyp-saved-y-1111111111111111111", YOUNG) == [
        confirmed_text("Cas Worker")
    ]
    async with live.sessions() as db:
        assert (await db.get(Appointment, session)).status == "confirmed"  # type: ignore[union-attr]


async def test_a_time_the_clocks_skip_is_refused(live: LiveApp, fake_twilio: FakeTwilio) -> None:
    with time_machine.travel(london("2027-03-20 10:00"), tick=True):
        reference = await allocated_referral(live, fake_twilio)
        with pytest.raises(Refused, match="doesn't exist"):
            async with live.sessions() as db, db.begin():
                await add_session(db, live.settings, reference, date(2027, 3, 28), time(1, 30), "the usual place",
                                  CLI, datetime.now(UTC))


async def test_the_simulator_can_play_the_young_person(clock: Any, client: Any, settings: Any, sessions: Any) -> None:
    from support import chat

    replies = await chat(client, "simref", WHOLE_REFERRAL)
    reference = replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]
    await make_user(sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    async with sessions() as db, db.begin():
        for action, extra in (
            (Action.CLAIM, {}),
            (Action.ACCEPT, {}),
            (Action.ALLOCATE, {"caseworker": "cas@unit.example.org"}),
        ):
            await act(db, settings, reference, action, CLI, datetime.now(UTC), **extra)
        await add_session(
            db, settings, reference, date(2026, 12, 1), time(11, 0), "the library", CLI, datetime.now(UTC)
        )
        await send_first_contact(db, settings, reference, CLI, datetime.now(UTC))
    clock.move_to(london("2026-12-01 10:05"))  # the reminder follows the first message by a minute or so
    young = {"session": "447700900456", "role": "young_person"}
    inbox: list[dict[str, Any]] = []
    for _ in range(100):  # the app's dispatcher delivers both within its poll interval
        inbox = (await client.get("/simulator/inbox", params=young)).json()["messages"]
        if len(inbox) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(inbox) == 2 and "save it" in inbox[0]["text"]
    assert inbox[1]["text"].startswith("Hi Jaylen, it's Cas.") and "the library" in inbox[1]["text"]
    answer = await client.post("/simulator/message", json={**young, "text": "Y", "message_id": "yp-1"})
    assert answer.json()["replies"] == [confirmed_text("Cas Worker")]
    stranger = await client.post("/simulator/message", json={"session": "447700900999", "role": "young_person",
                                                              "text": "hi", "message_id": "yp-2"})
    assert "isn't expecting messages" in stranger.json()["replies"][0]


async def _world(live: LiveApp, session: int) -> tuple[Any, ...]:
    """Everything a young person's reply can change: the session, its reminders, notices, audit, outbox."""
    async with live.sessions() as db:
        appointment = await db.get(Appointment, session)
        assert appointment is not None
        notices = (await db.execute(select(CaseworkerNotice.id))).scalars().all()
        audited = (await db.execute(select(AuditEntry.id, AuditEntry.action))).all()
        outbox = (await db.execute(select(OutboundMessage.id, OutboundMessage.status))).all()
    return appointment.status, appointment.answer, tuple(notices), tuple(audited), tuple(outbox)


async def test_the_simulator_cannot_play_a_real_young_person_and_answers_their_number_as_a_stranger(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    before = await _world(live, session)

    async def as_young_person(number: str, text: str, n: int) -> Any:
        response = await live.http.post("/simulator/message", json={
            "session": number, "role": "young_person", "text": text, "message_id": f"yp-{number}-{n}"})
        assert response.status_code == 200, response.text
        return response.json()

    texts = ["Y", "N", "can we meet at the park instead?"]
    real = [await as_young_person(YOUNG.lstrip("+"), text, n) for n, text in enumerate(texts)]
    stranger = [await as_young_person("447700900999", text, n) for n, text in enumerate(texts)]

    assert real == stranger
    assert all("isn't expecting messages" in answer["replies"][0] for answer in real)
    assert await _world(live, session) == before  # still scheduled, no notice, nothing audited or queued
    assert (await live.http.get("/simulator/inbox", params={"session": YOUNG.lstrip("+"),
                                                              "role": "young_person"})).json() == {"messages": []}


async def test_the_caseworker_is_told_on_telegram_without_personal_details(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio, fake_telegram: Any
) -> None:
    reference = await allocated_referral(live, fake_twilio)
    async with live.sessions() as db, db.begin():
        from store.users import get_user

        worker = await get_user(db, "cas@unit.example.org")
        assert worker is not None
        worker.telegram_chat_id = "9001"
    await book(live, reference, "2026-12-03 11:00")
    clock.move_to(london("2026-12-02 18:00:05"))  # the reminder the N answers
    await live.dispatcher.run_once()
    await sms(live, fake_twilio, "no", "SMyp-tg-no-0000000000000000000", YOUNG)
    await live.dispatcher.run_once()
    told = [m["text"] for m in fake_telegram.sent if str(m["chat_id"]) == "9001"]
    assert told == [f"The young person on {reference} can't come to a session. See your page."]


async def test_a_caseworker_without_telegram_is_told_by_email_without_personal_details(
    clock: Any, database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any, fake_smtp: Any
) -> None:
    from channels_support import email_settings, serve_live

    async with serve_live(email_settings(database_url, fake_twilio, fake_telegram, fake_smtp, unit_email="")) as live:
        reference = await allocated_referral(live, fake_twilio)
        await book(live, reference, "2026-12-03 11:00")
        await sms(live, fake_twilio, "can we meet somewhere else", "SMyp-mail-q-000000000000000000", YOUNG)
        await live.dispatcher.run_once()
    [mail] = fake_smtp.received
    assert mail.rcpt_to == ["cas@unit.example.org"]
    assert mail.message["Subject"] == f"[referral-bot] The young person on {reference} sent you a message"
    assert "somewhere else" not in str(mail.message) and "Jaylen" not in str(mail.message)
    assert fake_telegram.sent == []  # no chat id: email instead


async def test_sessions_are_listed_with_their_reminders_from_the_command_line(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio, env_for_cli: dict[str, Any]
) -> None:
    import json

    from support import run_cli

    reference = await allocated_referral(live, fake_twilio)
    env = {**env_for_cli, "DATABASE_URL": live.settings.database_url}
    added = await run_cli(env, "sessions", "add", reference, "--at", "2026-12-04 16:30", "--place", "the usual place")
    assert added.returncode == 0, added.stderr
    listed = await run_cli(env, "sessions", "list", reference, "--json")
    rows = json.loads(listed.stdout)
    assert [(r["local_time"], r["status"]) for r in rows] == [("2026-12-04 16:30", "scheduled")]
    assert [(m["planned_for"], m["status"]) for m in rows[0]["reminders"]] == [
        ("1d@18:00", "pending"),
        ("2h", "pending"),
    ]
    cancelled = await run_cli(env, "sessions", "cancel", str(rows[0]["id"]))
    assert cancelled.returncode == 0, cancelled.stderr
    bad = await run_cli(env, "sessions", "add", reference, "--at", "tomorrow", "--place", "x")
    assert bad.returncode == 2 and "expected London time" in bad.stderr


async def test_moving_a_session_replaces_its_reminders_and_tells_the_young_person(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from bot.sessions import move_session

    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    clock.move_to(london("2026-12-01 18:00:05"))  # the reminder tells them of the session
    await live.dispatcher.run_once()
    await sms(live, fake_twilio, "Y", "SMyp-move-y-000000000000000000", YOUNG)
    async with live.sessions() as db, db.begin():
        await move_session(db, live.settings, session, date(2026, 12, 4), time(16, 0), "", CLI,
                           datetime.now(UTC))
    statuses = [(r.planned_for, r.status, r.next_attempt_at) for r in await reminders(live, session)]
    assert ("2h", "cancelled", london("2026-12-02 13:00").astimezone(UTC)) in statuses
    assert ("1d@18:00", "pending", london("2026-12-03 18:00").astimezone(UTC)) in statuses
    assert ("2h", "pending", london("2026-12-04 14:00").astimezone(UTC)) in statuses
    async with live.sessions() as db:
        moved = await db.get(Appointment, session)
    assert moved is not None and moved.status == "scheduled"  # the old "Y" was for the old time
    await live.dispatcher.run_once()
    told = fake_twilio.messages[-1].body
    assert "Fri 4 Dec" in told and check_discreet(told) == []
    # The news asks for Y or N: a Y now is about the moved session.
    assert await sms(live, fake_twilio, "Y", "SMyp-move-y-111111111111111111", YOUNG) == [confirmed_text("Cas Worker")]
    async with live.sessions() as db:
        assert (await db.get(Appointment, session)).status == "confirmed"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("booked_at", "session", "day_before_utc", "two_hours_utc", "said"),
    [
        # Autumn: clocks go back at 02:00 on Sunday 25 October 2026; Monday's session is in GMT.
        ("2026-10-23 10:00", "2026-10-26 10:00", "2026-10-25 18:00", "2026-10-26 08:00", "Mon 26 Oct at 10:00am"),
        # Spring: clocks go forward at 01:00 on Sunday 28 March 2027; Monday's session is in BST.
        ("2027-03-26 10:00", "2027-03-29 10:00", "2027-03-28 17:00", "2027-03-29 07:00", "Mon 29 Mar at 10:00am"),
    ],
    ids=["october", "march"],
)
async def test_reminders_across_a_clock_change_go_out_at_london_time(
    live: LiveApp, fake_twilio: FakeTwilio, booked_at: str, session: str, day_before_utc: str, two_hours_utc: str,
    said: str,
) -> None:
    def utc(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    with time_machine.travel(london(booked_at), tick=True) as traveller:
        reference = await allocated_referral(live, fake_twilio)
        booked = await book(live, reference, session)
        assert [r.next_attempt_at for r in await reminders(live, booked)] == [utc(day_before_utc), utc(two_hours_utc)]

        # A minute early, across the change, nothing goes: the planner and the dispatcher agree on the hour.
        traveller.move_to(utc(day_before_utc) - timedelta(minutes=1))
        await live.dispatcher.run_once()
        assert fake_twilio.messages == []

        traveller.move_to(utc(day_before_utc).replace(second=5))
        await live.dispatcher.run_once()
        assert (
            len(fake_twilio.messages) == 1 and said in fake_twilio.messages[0].body
        )  # 18:00 London, whatever UTC says

        traveller.move_to(utc(two_hours_utc).replace(second=5))
        await live.dispatcher.run_once()
        assert len(fake_twilio.messages) == 2 and "today at 10:00am" in fake_twilio.messages[1].body


async def test_turning_reminders_off_stops_them_and_on_plans_them_again(
    clock: Any, live: LiveApp, fake_twilio: FakeTwilio
) -> None:
    from bot.sessions import set_reminders

    reference = await allocated_referral(live, fake_twilio)
    session = await book(live, reference, "2026-12-02 15:00")
    for on in (False, True):
        async with live.sessions() as db, db.begin():
            await set_reminders(db, live.settings, reference, on, CLI, datetime.now(UTC))
    assert sorted((r.planned_for, r.status) for r in await reminders(live, session)) == [
        ("1d@18:00", "cancelled"), ("1d@18:00", "pending"), ("2h", "cancelled"), ("2h", "pending")]
