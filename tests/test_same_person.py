"""A young person referred twice is recognised by the unit, by keyed hashes only, and the referrer is never told."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import csrf_of, login, make_user
from support import PERSONAL, REFERRAL_ANSWERS, TEST_KEY, answering, chat, invoke_cli, run_cli

from bot.settings import Settings, decode_data_key, load_settings
from bot.web import create_app
from flows.channels import Channel
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.keys import rotate_step
from store.migrate import alembic_config, upgrade_to_head
from store.models import AuditEntry, PossibleDuplicate, Referral
from store.referrals import create_referral, get_referral, young_person_hashes
from store.same_person import likenesses, record_possible_duplicates, young_person_name_hash

NEW_KEY = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
REFERENCE = re.compile(r"LGX-[0-9A-Z]{5}")


def referral_of(first: str = PERSONAL["yp_first_name"], last: str = PERSONAL["yp_last_name"],
                dob: str = PERSONAL["dob"], mobile: str = PERSONAL["yp_mobile"]) -> list[str]:
    """The whole referral of support.REFERRAL_ANSWERS, for a young person with these details."""
    return answering({**REFERRAL_ANSWERS, "yp_name": f"{first} {last}", "dob": dob, "yp_contact": f"{mobile} 1 2"})


async def refer(client: httpx.AsyncClient, session: str, texts: list[str]) -> tuple[str, list[list[str]]]:
    replies = await chat(client, session, texts)
    found = REFERENCE.search(replies[-1][0])
    assert found, replies[-1]
    return found.group(0), replies


async def matches(sessions: async_sessionmaker[AsyncSession], reference: str) -> dict[str, tuple[bool, bool]]:
    """The referrals possibly of the same young person: reference -> (by name and birth date, by mobile)."""
    async with sessions() as db:
        referral = await get_referral(db, reference)
        assert referral is not None
        return {m.reference: (m.by_name, m.by_mobile) for m in await likenesses(db, referral.id)}


async def test_spellings_of_one_young_person_are_recognised_and_another_young_person_is_not(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first, _ = await refer(client, "hospital", referral_of("Jordan", "Smith-Jones", mobile="07700 900401"))
    # Probation, months later: the name spelled otherwise, another number.
    again, _ = await refer(client, "probation", referral_of("jordon", "SMITH JONES", mobile="07700 900402"))
    # Born the same day, another young person, another number.
    other, _ = await refer(client, "school", referral_of("Kwame", "Mensah", mobile="07700 900403"))
    # The first young person's mobile, under another name (a nickname, or the name they go by now).
    by_phone, _ = await refer(client, "housing", referral_of("Jay", "Brown", dob="01/05/2004", mobile="07700900401"))

    assert await matches(sessions, again) == {first: (True, False)}
    assert await matches(sessions, other) == {}
    assert await matches(sessions, by_phone) == {first: (False, True)}
    # Seen from the first referral too, each found once.
    assert await matches(sessions, first) == {again: (True, False), by_phone: (False, True)}
    async with sessions() as db:
        pairs = (await db.execute(select(PossibleDuplicate))).scalars().all()
        assert len(pairs) == 2 and all(pair.decision is None for pair in pairs)


async def test_the_match_is_made_on_keyed_hashes_and_nothing_plain_is_stored_for_it(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    reference, _ = await refer(client, "hash", referral_of("Jordan", "Smith-Jones"))
    async with sessions() as db:
        stored = (await db.execute(text("SELECT yp_name_hash FROM referrals"))).scalar_one()
        referral = await get_referral(db, reference)
        assert referral is not None
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert stored == young_person_name_hash(referral.details)
    for plain in ("Jordan", "JRTN", "2006-02-14", "SM0JNS"):
        assert plain not in stored


async def test_a_real_referral_and_a_simulator_referral_are_never_matched(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as db, db.begin():
        await create_referral(db, reference="LGX-SMS01", channel=Channel.SMS, details={
            "yp_first_name": "Jaylen", "yp_last_name": "Featherstonehaugh", "dob": "2006-02-14",
            "yp_mobile": "+447700900456"}, borough="Lambeth", age=20, urgency="routine", referrer_hash="x",
            safeguarding_flag=False, now=datetime.now(UTC), yp_phone_hash=young_person_hashes("+447700900456")[0])
    # The simulator lives in its own world: a test referral of the same details is not the real young person.
    test, _ = await refer(client, "sim", referral_of())
    assert await matches(sessions, test) == {}
    assert await matches(sessions, "LGX-SMS01") == {}
    # A real referral of the same young person after it is matched with the real one only.
    async with sessions() as db, db.begin():
        real = await create_referral(db, reference="LGX-SMS02", channel=Channel.SMS, details={
            "yp_first_name": "Jaylon", "yp_last_name": "Featherstone-Haugh", "dob": "2006-02-14"},
            borough="Lambeth", age=20, urgency="routine", referrer_hash="x", safeguarding_flag=False,
            now=datetime.now(UTC))
        found = await record_possible_duplicates(db, real, young_person_hashes("+447700900999"), datetime.now(UTC))
        assert [(pair.by_name, pair.by_mobile) for pair in found] == [(True, False)]
    assert await matches(sessions, "LGX-SMS02") == {"LGX-SMS01": (True, False)}


def _masked(replies: list[list[str]]) -> list[list[str]]:
    return [[REFERENCE.sub("LGX-?????", reply) for reply in step] for step in replies]


async def test_the_referrer_is_told_the_same_whether_or_not_the_young_person_is_known(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first, unknown = await refer(client, "first", referral_of())
    second, known = await refer(client, "second", referral_of())
    assert await matches(sessions, second) == {first: (True, True)}  # the second was recognised...
    assert _masked(known) == _masked(unknown)  # ...and not one word of what the referrer saw changed
    assert all("LGX-" not in reply or second in reply for step in known for reply in step)


async def _unit_page(client: httpx.AsyncClient, reference: str) -> httpx.Response:
    page = await client.get(f"/staff/referrals/{reference}")
    assert page.status_code == 200
    return page


def _pair_form(page: str, other: str) -> str:
    """The action of the decision form under the notice about `other`."""
    at = page.index(f"Possibly the same young person as <a class=\"govuk-link\" href=\"/staff/referrals/{other}\"")
    found = re.compile(r'action="(/staff/referrals/[^"]+/same-person/\d+)"').search(page, at)
    assert found
    return found.group(1)


async def test_the_unit_decides_same_or_different_and_each_decision_is_audited(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    first, _ = await refer(client, "a", referral_of("Jordan", "Smith-Jones", mobile="07700 900401"))
    second, _ = await refer(client, "b", referral_of("Jordon", "Smith Jones", mobile="07700 900402"))
    third, _ = await refer(client, "c", referral_of("Jordan", "Smith", dob="01/05/2004", mobile="07700 900401"))
    shown = await run_cli(env_for_cli, "referrals", "show", first, "--json")
    assert json.loads(shown.stdout)["possible_duplicates"] == [second, third]

    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await login(client, "una@unit.example.org")
    page = (await _unit_page(client, first)).text
    for other in (second, third):
        assert f'Possibly the same young person as <a class="govuk-link" href="/staff/referrals/{other}">{other}</a>' \
            in page
    assert "a name that sounds the same" in page and "the same mobile number" in page
    csrf = csrf_of(page)
    # Without the session's CSRF token: refused, and nothing decided.
    assert (await client.post(_pair_form(page, second), data={"decision": "same"})).status_code == 403

    done = await client.post(_pair_form(page, second), data={"decision": "same", "csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == f"/staff/referrals/{first}?done=same_person"
    page = (await client.get(done.headers["location"])).text
    assert "Done: marked as the same young person." in page
    assert f'Same young person as <a class="govuk-link" href="/staff/referrals/{second}">{second}</a>.' in page
    assert f"Possibly the same young person as <a class=\"govuk-link\" href=\"/staff/referrals/{second}\"" not in page

    # Seen from the third referral, the pair with the first is decided there: a different person.
    page = (await _unit_page(client, third)).text
    done = await client.post(_pair_form(page, first), data={"decision": "different", "csrf": csrf})
    assert done.status_code == 303
    page = (await client.get(done.headers["location"])).text
    assert "Done: marked as a different young person." in page
    assert first not in page.split('<h1', 1)[1]  # the notice is gone, and no link is left
    page = (await _unit_page(client, first)).text
    assert third not in page.split('<h1', 1)[1] and f'href="/staff/referrals/{second}"' in page

    # Deciding again (a second tab, or someone else first): refused with who decided, nothing changed.
    again = await client.post(f"/staff/referrals/{first}/same-person/1", data={"decision": "different", "csrf": csrf})
    assert again.status_code == 409 and "una@unit.example.org has already decided this: same person." in again.text
    nonsense = await client.post(f"/staff/referrals/{first}/same-person/999", data={"decision": "same", "csrf": csrf})
    assert nonsense.status_code == 409 and "no longer there" in nonsense.text

    async with sessions() as db:
        decided = [(e.actor, e.action, e.reference, e.detail) for e in (await db.execute(
            select(AuditEntry).where(AuditEntry.action.in_(("same_person", "different_person")))
            .order_by(AuditEntry.id))).scalars()]
    assert decided == [("una@unit.example.org", "same_person", first, f"same person as {second}"),
                       ("una@unit.example.org", "different_person", third, f"different person from {first}")]

    shown = await run_cli(env_for_cli, "referrals", "show", first, "--json")
    whole = json.loads(shown.stdout)
    assert whole["possible_duplicates"] == [] and whole["same_young_person"] == [second]


async def test_referrals_show_json_lists_possible_duplicates_and_an_empty_list_when_none(
    client: httpx.AsyncClient, env_for_cli: dict[str, Any]
) -> None:
    first, _ = await refer(client, "one", referral_of())
    shown = await run_cli(env_for_cli, "referrals", "show", first, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["possible_duplicates"] == []
    second, _ = await refer(client, "two", referral_of(first="Jaylon"))
    for reference, other in ((first, second), (second, first)):
        shown = await run_cli(env_for_cli, "referrals", "show", reference, "--json")
        assert json.loads(shown.stdout)["possible_duplicates"] == [other]
    plain = await run_cli(env_for_cli, "referrals", "show", first)
    assert re.search(rf"possible_duplicates\s+{second}", plain.stdout)


async def test_a_caseworker_sees_no_possible_match_and_cannot_decide_one(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    first, _ = await refer(client, "one", referral_of())
    second, _ = await refer(client, "two", referral_of())
    await make_user(sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    for step in (["claim", second], ["accept", second], ["allocate", second, "--to", "cas@unit.example.org"]):
        assert (await run_cli(env_for_cli, "referrals", *step)).returncode == 0
    await login(client, "cas@unit.example.org")
    page = await client.get(f"/staff/referrals/{second}")
    assert page.status_code == 200 and first not in page.text and "same young person" not in page.text.lower()
    refused = await client.post(f"/staff/referrals/{second}/same-person/1",
                                data={"decision": "same", "csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    async with sessions() as db:
        assert (await db.execute(select(PossibleDuplicate.decision))).scalar_one() is None


async def test_after_a_key_rotation_the_same_young_person_is_still_recognised(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession],
    env_for_cli: dict[str, Any]
) -> None:
    before, _ = await refer(client, "before", referral_of("Jordan", "Smith-Jones", mobile="07700 900401"))
    async with sessions() as db:
        old_hash = await db.scalar(select(Referral.yp_name_hash))
    rotated = await run_cli({**env_for_cli, "DATA_KEY": f"{NEW_KEY},{TEST_KEY}"}, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr

    # Only the new key from now on: the old referral's index was recomputed under it, so it is found.
    crypto.configure(decode_data_key(NEW_KEY))
    async with sessions() as db:
        new_hash = await db.scalar(select(Referral.yp_name_hash))
        referral = await get_referral(db, before)
        assert referral is not None
    assert new_hash != old_hash and new_hash == young_person_name_hash(referral.details)
    app = create_app(settings.model_copy(update={"data_key": load_settings(data_key=NEW_KEY).data_key}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            after, _ = await refer(http, "after", referral_of("Jordon", "Smith Jones", mobile="07700 900402"))
    assert await matches(sessions, after) == {before: (True, False)}


def test_referrals_from_before_the_upgrade_are_indexed_by_the_next_rotate_key(
    database_url: str, env_for_cli: dict[str, Any]
) -> None:


    details = {"yp_first_name": "Jordan", "yp_last_name": "Smith-Jones", "dob": "2006-02-14"}

    async def in_db(work: Any) -> Any:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as db, db.begin():
                return await work(db)
        finally:
            await engine.dispose()

    async def refer_and_rotate(db: AsyncSession) -> None:
        await create_referral(db, reference="LGX-OLD01", channel=Channel.SMS, details=details, borough="Lambeth",
                              age=20, urgency="routine", referrer_hash="x", safeguarding_flag=False,
                              now=datetime.now(UTC))
        await db.flush()
        while not (await rotate_step(db, datetime.now(UTC))).finished:
            pass  # a rotation to this key, finished before the upgrade: nothing is left to do under it

    async def stored(db: AsyncSession) -> Any:
        return await db.scalar(text("SELECT yp_name_hash FROM referrals"))

    asyncio.run(in_db(refer_and_rotate))
    command.downgrade(alembic_config(database_url), "0010-1")
    upgrade_to_head(database_url)
    assert asyncio.run(in_db(stored)) is None  # the upgrade cannot compute it: it has no key
    result = invoke_cli(env_for_cli, "rotate-key")
    assert result.returncode == 0, result.stderr
    assert asyncio.run(in_db(stored)) == young_person_name_hash(details)
