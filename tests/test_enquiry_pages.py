"""The unit's enquiry pages: the list (a filter of the queue), one enquiry (audited), marking it replied or closed."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import csrf_of, login, make_user
from support import chat

from flows.statuses import EnquiryStatus
from store.models import AuditEntry, Enquiry

UNIT = "unit@unit.example.org"
NAME = "Tiwaloluwa"
MESSAGE = "Is there someone I can talk to about my son?"


async def _enquiry(client: httpx.AsyncClient, session: str = "enq") -> str:
    replies = await chat(client, session, ["ME", NAME, "N", MESSAGE], prefix=session)
    assert replies[-1][0].startswith("Thanks, we have your message.")
    return session


async def _only(sessions: async_sessionmaker[AsyncSession]) -> Enquiry:
    async with sessions() as db:
        return (await db.execute(select(Enquiry))).scalar_one()


async def _audited(sessions: async_sessionmaker[AsyncSession], action: str) -> list[tuple[str, str | None]]:
    async with sessions() as db:
        rows = (await db.execute(select(AuditEntry.actor, AuditEntry.reference).where(AuditEntry.action == action)
                                 .order_by(AuditEntry.id))).all()
    return [(row.actor, row.reference) for row in rows]


async def test_the_queue_filters_to_enquiries_and_the_list_shows_no_personal_data(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _enquiry(client)
    enquiry = await _only(sessions)
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    queue = await client.get("/staff/queue")
    assert "1 new enquiry from young people and families" in queue.text
    assert '<option value="enquiries"' in queue.text
    filtered = await client.get("/staff/queue?status=enquiries")
    assert filtered.status_code == 303 and filtered.headers["location"] == "/staff/enquiries"
    listed = await client.get("/staff/enquiries")
    assert listed.status_code == 200 and f'href="/staff/enquiries/{enquiry.reference}"' in listed.text
    assert NAME not in listed.text and MESSAGE not in listed.text
    assert (await client.get("/staff/enquiries?status=replied")).text.count("/staff/enquiries/ENQ-") == 0
    assert await _audited(sessions, "view_enquiries") == [(UNIT, None), (UNIT, None)]


async def test_an_enquiry_page_shows_what_they_said_and_each_view_is_audited(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _enquiry(client)
    enquiry = await _only(sessions)
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    page = await client.get(f"/staff/enquiries/{enquiry.reference.lower()}")
    assert page.status_code == 200
    assert NAME in page.text and MESSAGE in page.text and "Not safe to text" in page.text
    assert "The simulator: a test, no real person" in page.text and "simulator" in page.text
    await client.get(f"/staff/enquiries/{enquiry.reference}")
    assert await _audited(sessions, "view_enquiry") == [(UNIT, enquiry.reference)] * 2
    missing = await client.get("/staff/enquiries/ENQ-ZZZZZ")
    assert missing.status_code == 404 and "There is no enquiry ENQ-ZZZZZ" in missing.text


async def test_a_caseworker_cannot_see_enquiries(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _enquiry(client)
    enquiry = await _only(sessions)
    await make_user(sessions, "cw@unit.example.org", "caseworker")
    await login(client, "cw@unit.example.org")
    for path in ("/staff/enquiries", f"/staff/enquiries/{enquiry.reference}"):
        refused = await client.get(path)
        assert refused.status_code == 403 and NAME not in refused.text
    assert await _audited(sessions, "view_enquiry") == []


async def test_marking_replied_then_closing_after_confirmation_records_who_and_refuses_going_back(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _enquiry(client)
    ref = (await _only(sessions)).reference
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    page = await client.get(f"/staff/enquiries/{ref}")
    token = csrf_of(page.text)
    assert (await client.post(f"/staff/enquiries/{ref}/status", data={"status": "replied"})).status_code == 403
    replied = await client.post(f"/staff/enquiries/{ref}/status", data={"csrf": token, "status": "replied"})
    assert replied.status_code == 303 and replied.headers["location"] == f"/staff/enquiries/{ref}?done=replied"
    shown = await client.get(replied.headers["location"])
    assert f"Done: enquiry {ref} marked as replied." in shown.text and f"By {UNIT}" in shown.text
    assert (await _only(sessions)).status is EnquiryStatus.REPLIED
    confirm = await client.post(f"/staff/enquiries/{ref}/status", data={"csrf": token, "status": "closed"})
    assert confirm.status_code == 200 and "Are you sure you want to close this enquiry?" in confirm.text
    assert "govuk-button--warning" in confirm.text
    assert (await _only(sessions)).status is EnquiryStatus.REPLIED, "nothing changes before the confirmation"
    closed = await client.post(f"/staff/enquiries/{ref}/status",
                               data={"csrf": token, "status": "closed", "step": "confirm"})
    assert closed.status_code == 303
    assert (await _only(sessions)).status is EnquiryStatus.CLOSED
    back = await client.post(f"/staff/enquiries/{ref}/status", data={"csrf": token, "status": "replied"})
    assert back.status_code == 409 and "cannot be changed that way now" in back.text
    assert "There is a problem" in back.text
    assert await _audited(sessions, "enquiry_replied") == [(UNIT, ref)]
    assert await _audited(sessions, "enquiry_closed") == [(UNIT, ref)]
