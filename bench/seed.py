"""Growth: a database holding many referrals, conversations, inbound messages and contacts, inserted in bulk.

One set-based INSERT ... SELECT per table over a counter (SQLite loops in C; a million rows through
executemany took minutes on a loaded 2-core machine). The encrypted columns hold real AES-GCM values
of realistic size, encrypted under the run's key: a pool of them is encrypted once (through SQLAlchemy
Core executemany into temporary tables) and reused with its row uids, so every row is as large and as
readable as a real one; the keyed hashes are random, as keyed hashes look. The seeded rows are never
the ones the load touches: the benchmark's referrers are new numbers, as a growing service's new
referrers are.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, column, create_engine, table

from store import crypto
from store.sealing import new_row_uid

__all__ = ["seed"]

POOL = 500
BATCH = 20_000
DRAFT = {"state": "questions__young_person__yp_mobile", "answers": {
    "dob": "2006-03-14", "borough": "lambeth", "gang_involved": True, "risks": [1, 3], "motivated": True,
    "willing": True, "extensive_support": False, "services_local": False, "referrer_name": "Sam Referrer",
    "referrer_role": "Youth worker", "referrer_org": "Lambeth YOT", "referrer_email": "sam.referrer@yot.example.org",
    "relationship": "their youth worker", "yp_name": "Jordan Okafor", "yp_gender": "2"},
    "history": ["questions__eligibility__dob", "questions__eligibility__borough"], "bad_tries": 0, "editing": False}
DETAILS = {**DRAFT["answers"], "yp_mobile": "+447700812345", "yp_language": "English", "consent": True,  # type: ignore[dict-item]
           "mash": False, "risk_history": [1], "needs": [1, 4, 7], "specialist": [1], "agencies": [1, 3],
           "safe_contact": [1, 2], "best_times": "after 4pm", "urgency": "2", "referrer_phone": "+447700900123"}
REPLIES = [{"text": "Thanks. What is the young person's mobile number? Reply SKIP if they don't have one.",
            "choices": [], "kind": "text", "share_phone": False}]


def _pool(purpose: str, plain: bytes, uids: list[str]) -> list[tuple[str, bytes]]:
    """(row uid, sealed value) pairs: real ciphertexts, each readable at a row with its uid."""
    return [(uid, crypto.encrypt(plain, purpose, uid)) for uid in uids]


def _stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ")


def _pool_table(connection: Connection, name: str, pool: list[tuple[str, bytes]]) -> None:
    """A temporary table of (k, uid, blob) the set-based inserts below pick values from, by row number."""
    connection.exec_driver_sql(f"CREATE TEMP TABLE {name} (k INTEGER PRIMARY KEY, uid TEXT, blob BLOB)")
    target = table(name, column("k"), column("uid"), column("blob"))
    connection.execute(target.insert(), [{"k": k, "uid": uid, "blob": blob} for k, (uid, blob) in enumerate(pool)])


def _insert(connection: Connection, name: str, columns: str, values: str, count: int,
            progress: Callable[[str], None]) -> None:
    """`count` rows in one set-based INSERT ... SELECT over a counter, so SQLite does the loop in C."""
    started = time.monotonic()
    connection.exec_driver_sql(
        f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {count}) "
        f"INSERT INTO {name} ({columns}) SELECT {values} FROM n")
    progress(f"  {count:,} {name} in {time.monotonic() - started:.0f} s")


def seed(sqlite_path: str, count: int, progress: Callable[[str], None]) -> None:
    """Add `count` each of contacts, conversations, inbound messages and referrals to a migrated SQLite file."""
    now = datetime.now(UTC)
    def uids() -> list[str]:
        return [new_row_uid() for _ in range(POOL)]

    conversation_uids, message_uids, referral_uids, contact_uids = uids(), uids(), uids(), uids()
    sender = _pool("conversations.sender", b"+447700912345", conversation_uids)
    draft = _pool("conversations.draft", json.dumps(DRAFT, separators=(",", ":")).encode(), conversation_uids)
    body = _pool("inbound_messages.body", b"Jordan Okafor", message_uids)
    replies = _pool("inbound_messages.replies", json.dumps(REPLIES, separators=(",", ":")).encode(), message_uids)
    message_sender = _pool("inbound_messages.sender", b"+447700912345", message_uids)
    details = _pool("referrals.details", json.dumps(DETAILS, separators=(",", ":")).encode(), referral_uids)
    address = _pool("contacts.address", b"+447700912345", contact_uids)
    at = [_stamp(now - timedelta(minutes=i)) for i in range(POOL)]

    engine = create_engine(f"sqlite:///{sqlite_path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA synchronous=OFF")
        connection.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB: the random hashes' indexes stay in memory
        for name, pool in (("p_sender", sender), ("p_draft", draft), ("p_body", body), ("p_replies", replies),
                           ("p_details", details), ("p_address", address),
                           ("p_message_sender", message_sender)):
            _pool_table(connection, name, pool)
        at_now = at[0]

        def pick(pool: str, part: str) -> str:
            return f"(SELECT {part} FROM {pool} WHERE k = i % {POOL})"

        random_hash = "lower(hex(randomblob(32)))"
        _insert(connection, "contacts", "row_uid, channel, address_hash, address, opted_out, blocked, created_at, "
                "changed_at", f"{pick('p_address', 'uid')}, 'sms', {random_hash}, {pick('p_address', 'blob')}, 0, 0, "
                f"'{at_now}', '{at_now}'", count, progress)
        _insert(connection, "conversations", "row_uid, channel, sender_hash, sender, state, draft, flagged, "
                "created_at, updated_at", f"{pick('p_sender', 'uid')}, 'sms', {random_hash}, "
                f"{pick('p_sender', 'blob')}, 'questions__young_person__yp_mobile', {pick('p_draft', 'blob')}, 0, "
                f"'{at_now}', '{at_now}'", count, progress)
        _insert(connection, "inbound_messages", "row_uid, channel, provider_id, conversation_id, body, replies, "
                "received_at, sender, status, attempts, reply_segments",
                f"{pick('p_body', 'uid')}, 'sms', 'SMseed' || printf('%028d', i), i + 1, {pick('p_body', 'blob')}, "
                f"{pick('p_replies', 'blob')}, '{at_now}', {pick('p_message_sender', 'blob')}, 'processed', 1, 1",
                count, progress)
        _insert(connection, "referrals", "row_uid, reference, status, channel, borough, age, under_18, urgency, "
                "safeguarding_flag, referrer_hash, details, created_at, updated_at, yp_phone_hash, yp_name_hash, "
                "reminders_off", f"{pick('p_details', 'uid')}, 'BCH-' || printf('%07d', i), 'closed', 'sms', "
                f"'lambeth', 20, 0, '2', 0, {random_hash}, {pick('p_details', 'blob')}, '{at_now}', '{at_now}', "
                f"{random_hash}, {random_hash}, 0", count, progress)
    engine.dispose()
