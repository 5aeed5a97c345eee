"""The referral unit's queue and its actions on a referral, as pages: confirmation before what cannot be undone,
the needs-action view, new information from a referrer, the columns, search and sort, taking over, and the
referrer told of an allocation."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
from browser_support import referral_by_sms
from channels_support import LiveApp, eventually
from fakes.twilio_api import FakeTwilio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import csrf_of, login, make_user
from support import WHOLE_REFERRAL, chat

from bot.actions import Actor, act
from bot.settings import Settings
from flows.channels import Channel
from flows.process import Action, Role, Status
from store.models import AuditEntry, OutboundMessage, Referral
from store.referrals import create_referral, get_referral

CLI = Actor("cli", Role.ADMIN)


async def _simulated(client: httpx.AsyncClient, session: str) -> str:
    replies = await chat(client, session, WHOLE_REFERRAL, prefix=session)
    return replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]


async def _post(client: httpx.AsyncClient, reference: str, **data: str) -> httpx.Response:
    page = await client.get(f"/staff/referrals/{reference}")
    return await client.post(f"/staff/referrals/{reference}/actions", data={"csrf": csrf_of(page.text), **data})


async def _status(sessions: async_sessionmaker[AsyncSession], reference: str) -> Status:
    async with sessions() as db:
        referral = await get_referral(db, reference)
        assert referral is not None
        return Status(referral.status)


async def _decisions(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as db:
        return int(await db.scalar(select(func.count()).where(OutboundMessage.purpose == "decision")) or 0)


async def _made(sessions: async_sessionmaker[AsyncSession], settings: Settings, reference: str, *actions: Action,
                age_days: float = 0, org: str = "Lambeth YOT", urgency: str = "routine", **extra: str) -> str:
    """A referral (no channel to text back), received `age_days` ago and moved through `actions` by an admin."""
    async with sessions() as db, db.begin():
        await create_referral(db, reference=reference, channel=Channel.SMS, details={"referrer_org": org},
                              borough="Lambeth", age=19, urgency=urgency, referrer_hash="x", safeguarding_flag=False,
                              now=datetime.now(UTC) - timedelta(days=age_days))
        for action in actions:
            await act(db, settings, reference, action, CLI, datetime.now(UTC), **extra)
    return reference


def _rows(page: str) -> list[str]:
    """The references in the queue table, in order."""
    return re.findall(r'<th scope="row"[^>]*><a class="govuk-link" href="/staff/referrals/([A-Z0-9-]+)"', page)


# --- 1. nothing irreversible without a confirmation -------------------------------------------------------


async def test_a_decline_is_confirmed_on_its_own_page_and_nothing_changes_until_then(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await login(client, "una@unit.example.org")
    reference = await _simulated(client, "dec")
    assert (await _post(client, reference, action="claim")).status_code == 303
    reason = "he already works with the borough gangs team"

    asked = await _post(client, reference, action="decline", reason="other", other_reason=reason)
    assert asked.status_code == 200
    text = html.unescape(asked.text)
    assert "Are you sure you want to decline this referral?" in text
    assert "It cannot be accepted later." in text
    assert f"Sorry, we can't take referral {reference}: {reason}." in text  # what the referrer will be told
    assert 'class="govuk-button govuk-button--warning"' in text and f"Yes, decline referral {reference}" in text
    assert await _status(sessions, reference) is Status.IN_REVIEW and await _decisions(sessions) == 0

    # Going back to change the reason keeps what was typed.
    back = await _post(client, reference, action="decline", reason="other", other_reason=reason, step="change")
    assert back.status_code == 200 and f">{reason}</textarea>" in html.unescape(back.text)
    # Something wrong (Other with nothing written): refused on the referral page, the choice kept, nothing changed.
    empty = await _post(client, reference, action="decline", reason="other", other_reason="  ")
    assert empty.status_code == 409 and "Please give a reason for declining" in html.unescape(empty.text)
    assert '<option value="other" selected>' in empty.text
    assert await _status(sessions, reference) is Status.IN_REVIEW

    done = await _post(client, reference, action="decline", reason="other", other_reason=reason, step="confirm")
    assert done.status_code == 303
    assert await _status(sessions, reference) is Status.DECLINED and await _decisions(sessions) == 1


async def test_a_close_is_confirmed_first_and_says_the_referrer_is_not_texted(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await login(client, "una@unit.example.org")
    reference = await _made(sessions, settings, "LGX-CLOSE", Action.CLAIM, Action.ACCEPT)
    asked = await _post(client, reference, action="close")
    assert asked.status_code == 200
    text = html.unescape(asked.text)
    assert "Are you sure you want to close this referral?" in text and "cannot be reopened" in text
    assert "Nothing: closing a referral sends the referrer no text." in text
    assert await _status(sessions, reference) is Status.ACCEPTED
    assert (await _post(client, reference, action="close", step="confirm")).status_code == 303
    assert await _status(sessions, reference) is Status.CLOSED


# --- 2. needs action ----------------------------------------------------------------------------------------


async def test_the_queue_opens_on_what_needs_action_accepted_referrals_waiting_for_a_caseworker_included(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await make_user(sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    await login(client, "una@unit.example.org")
    queued = await _made(sessions, settings, "LGX-QUEUE")
    accepted = await _made(sessions, settings, "LGX-ACCPT", Action.CLAIM, Action.ACCEPT)
    allocated = await _made(sessions, settings, "LGX-ALLOC", Action.CLAIM, Action.ACCEPT, Action.ALLOCATE,
                            caseworker="cas@unit.example.org")
    declined = await _made(sessions, settings, "LGX-DECLN", Action.CLAIM, Action.DECLINE, reason="not_ready")

    default = await client.get("/staff/queue")
    assert '<option value="" selected>Needs action</option>' in default.text
    assert sorted(_rows(default.text)) == sorted([queued, accepted])
    assert "Needs a caseworker" in default.text
    # The other views are still there.
    assert _rows((await client.get("/staff/queue", params={"status": "open"})).text) == [queued]
    assert sorted(_rows((await client.get("/staff/queue", params={"status": "all"})).text)) == sorted(
        [queued, accepted, allocated, declined])
    assert _rows((await client.get("/staff/queue", params={"status": "declined"})).text) == [declined]


# --- 3. new information ---------------------------------------------------------------------------------------


async def test_a_referrers_answer_is_marked_new_in_the_queue_until_opened_and_shown_beside_the_question(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await make_user(sessions, "bea@unit.example.org", "unit", "Bea Unit")
    await login(client, "una@unit.example.org")
    reference = await _simulated(client, "ask")
    await _post(client, reference, action="claim")
    question = "Is the young person in education at the moment?"
    assert (await _post(client, reference, action="request_info", question=question)).status_code == 303
    assert "New information" not in (await client.get("/staff/queue", params={"tests": "1"})).text
    await chat(client, "ask", ["Yes, at college two days a week"], prefix="answer")

    queue = await client.get("/staff/queue", params={"tests": "1"})
    assert "New information" in queue.text
    assert _rows((await client.get("/staff/queue", params={"tests": "1", "flag": "new_info"})).text) == [reference]
    page = html.unescape((await client.get(f"/staff/referrals/{reference}")).text)
    section = page.split('id="question-answer"', 1)[1].split("</section>", 1)[0]
    assert question in section and "Yes, at college two days a week" in section and "New information" in section
    # Opened by a unit member: no longer new, for them or anyone else.
    assert "New information" not in (await client.get("/staff/queue", params={"tests": "1"})).text
    await login(client, "bea@unit.example.org")
    assert "New information" not in (await client.get("/staff/queue", params={"tests": "1"})).text


# --- 4. columns, search and sort -------------------------------------------------------------------------------


async def test_the_queue_shows_the_columns_the_unit_works_from(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await login(client, "una@unit.example.org")
    await _made(sessions, settings, "LGX-LATE2", age_days=8.1, org="St Thomas' A&E youth team")
    await _made(sessions, settings, "LGX-LATE3", age_days=9.5)
    await _made(sessions, settings, "LGX-FRESH", Action.CLAIM, age_days=3.5, org="Haringey YOT")
    text = html.unescape((await client.get("/staff/queue")).text)
    late = text.split("LGX-LATE2</a>", 1)[1].split("</tr>", 1)[0]
    fresh = text.split("LGX-FRESH</a>", 1)[1].split("</tr>", 1)[0]
    later = text.split("LGX-LATE3</a>", 1)[1].split("</tr>", 1)[0]
    assert "St Thomas' A&E youth team" in late and "OVERDUE BY 1 DAY<" in late
    assert "OVERDUE BY 2 DAYS" in later
    assert "Haringey YOT" in fresh and "due in 3 days" in fresh
    for header in ("Received", "Referrer's organisation", "Urgency", "Flags", "Due", "Reviewer"):
        assert f">{header}<" in text


async def test_the_queue_shows_the_reviewers_name_not_their_email(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await login(client, "una@unit.example.org")
    reference = await _made(sessions, settings, "LGX-NAMED")
    await _post(client, reference, action="claim")
    row = (await client.get("/staff/queue")).text.split(f"{reference}</a>", 1)[1].split("</tr>", 1)[0]
    assert "Una Unit" in row and "una@unit.example.org" not in row
    assert "Reviewer: Una Unit." in (await client.get(f"/staff/referrals/{reference}")).text


async def test_the_queue_finds_a_referral_by_its_reference_or_part_of_it(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await login(client, "una@unit.example.org")
    for reference in ("LGX-AB234", "LGX-CD567"):
        await _made(sessions, settings, reference)
    assert _rows((await client.get("/staff/queue", params={"q": " lgx-cd567 "})).text) == ["LGX-CD567"]
    assert _rows((await client.get("/staff/queue", params={"q": "ab2"})).text) == ["LGX-AB234"]
    nothing = await client.get("/staff/queue", params={"q": "%_'"})
    assert nothing.status_code == 200 and _rows(nothing.text) == []


async def test_the_queue_sorts_by_a_column_on_the_server_saying_so_with_aria_sort(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await login(client, "una@unit.example.org")
    await _made(sessions, settings, "LGX-OLDER", age_days=5, urgency="routine")
    await _made(sessions, settings, "LGX-NEWER", age_days=1, urgency="urgent")
    await _made(sessions, settings, "LGX-MIDDL", age_days=3, urgency="soon")
    default = await client.get("/staff/queue")
    assert 'aria-sort="none"' in default.text and 'aria-sort="ascending"' not in default.text
    ascending = await client.get("/staff/queue", params={"sort": "received"})
    assert _rows(ascending.text) == ["LGX-OLDER", "LGX-MIDDL", "LGX-NEWER"]
    header = ascending.text.split('aria-sort="ascending"', 1)[1].split("</th>", 1)[0]
    assert "Received" in header and 'href="/staff/queue?sort=received&amp;dir=desc"' in header
    descending = await client.get("/staff/queue", params={"sort": "received", "dir": "desc"})
    assert _rows(descending.text) == ["LGX-NEWER", "LGX-MIDDL", "LGX-OLDER"]
    assert 'aria-sort="descending"' in descending.text
    by_urgency = await client.get("/staff/queue", params={"sort": "urgency"})
    assert _rows(by_urgency.text) == ["LGX-NEWER", "LGX-MIDDL", "LGX-OLDER"]
    # An unknown column is the default order, not an error.
    assert (await client.get("/staff/queue", params={"sort": "dob"})).status_code == 200


# --- 5. take over and release ------------------------------------------------------------------------------------


async def test_a_unit_member_takes_over_anothers_claim_audited_and_the_other_is_told_once(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "sam@unit.example.org", "unit", "Sam Smith")
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    reference = await _made(sessions, settings, "LGX-TAKEN")
    await login(client, "una@unit.example.org")
    await _post(client, reference, action="claim")
    await login(client, "sam@unit.example.org")
    page = await client.get(f"/staff/referrals/{reference}")
    assert "Una Unit is reviewing this referral" in page.text and ">Take over</button>" in page.text
    assert (await _post(client, reference, action="take_over")).status_code == 303
    async with sessions() as db:
        referral = await get_referral(db, reference)
        assert referral is not None and referral.reviewer == "sam@unit.example.org"
        assert referral.status == Status.IN_REVIEW
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "take_over"))).scalar_one()
    assert (entry.actor, entry.reference) == ("sam@unit.example.org", reference)
    assert "una@unit.example.org" in entry.detail

    await login(client, "una@unit.example.org")
    told = await client.get("/staff/queue")
    assert f"Sam Smith took over {reference}" in told.text and "govuk-notification-banner" in told.text
    assert f"took over {reference}" not in (await client.get("/staff/queue")).text  # told once


async def test_an_admin_releases_a_claimed_referral_back_to_the_queue_and_the_reviewer_is_told(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    await make_user(sessions, "ada@unit.example.org", "admin", "Ada Admin")
    await make_user(sessions, "sam@unit.example.org", "unit", "Sam Smith")
    reference = await _made(sessions, settings, "LGX-RELSE")
    await login(client, "una@unit.example.org")
    await _post(client, reference, action="claim")
    # Another unit member can't release it...
    await login(client, "sam@unit.example.org")
    assert ">Release</button>" not in (await client.get(f"/staff/referrals/{reference}")).text
    assert (await _post(client, reference, action="release")).status_code == 409
    # ...an admin can.
    await login(client, "ada@unit.example.org")
    assert (await _post(client, reference, action="release")).status_code == 303
    assert await _status(sessions, reference) is Status.QUEUED
    async with sessions() as db:
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "release"))).scalar_one()
    assert entry.actor == "ada@unit.example.org" and "una@unit.example.org" in entry.detail
    await login(client, "una@unit.example.org")
    assert f"Ada Admin released back to the queue {reference}" in (await client.get("/staff/queue")).text


# --- 6. the referrer told of the allocation ----------------------------------------------------------------------


async def test_the_referrer_is_texted_when_a_caseworker_is_allocated_without_the_caseworkers_name(
    site: LiveApp, fake_twilio: FakeTwilio
) -> None:
    await make_user(site.sessions, "una@unit.example.org", "unit", "Una Unit")
    await make_user(site.sessions, "cas@unit.example.org", "caseworker", "Casimir Worthington")
    referrer = "+447700900321"
    reference = await referral_by_sms(site, fake_twilio, referrer, "Q")
    await login(site.http, "una@unit.example.org")
    for data in ({"action": "claim"}, {"action": "accept"},
                 {"action": "allocate", "caseworker": "cas@unit.example.org"}):
        assert (await _post(site.http, reference, **data)).status_code == 303
    told = await eventually(lambda: [m for m in fake_twilio.sent_to(referrer) if "caseworker" in m.body
                                     and "accepted" not in m.body])
    assert told[0].body == (f"Referral {reference} now has a caseworker, who will be in touch with the young person "
                            "soon.")
    assert "Casimir" not in told[0].body and "Worthington" not in told[0].body
    # Moved to another caseworker later: the referrer is not texted again.
    await make_user(site.sessions, "cat@unit.example.org", "caseworker", "Cat Other")
    assert (await _post(site.http, reference, action="allocate", caseworker="cat@unit.example.org")).status_code == 303
    async with site.sessions() as db:
        decisions = int(await db.scalar(select(func.count()).where(OutboundMessage.purpose == "decision")) or 0)
    assert decisions == 2  # accepted, allocated
    async with site.sessions() as db:
        assert (await db.execute(select(Referral.status).where(Referral.reference == reference))).scalar_one() \
            == Status.ALLOCATED
