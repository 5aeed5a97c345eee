"""The real `referral-bot serve` process: a conversation survives a killed server, start-up errors are one line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from support import LEAK_FORMS, WHOLE_REFERRAL, free_port


@contextmanager
def running_server(env: dict[str, Any]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env={**env, "PORT": str(port)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise AssertionError(f"server exited: {server.stdout.read() if server.stdout else ''}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start in 30 s")
            time.sleep(0.1)
        yield base, server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)


# These refuse to start before opening any database (the unmigrated one is an SQLite file of its own): the same
# run on PostgreSQL would test nothing more, and each costs a Python start-up.
refused_before_the_database = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _send(base: str, session: str, texts: list[str], start: int) -> list[list[str]]:
    out = []
    with httpx.Client(base_url=base, timeout=10) as http:
        for number, text in enumerate(texts, start=start):
            response = http.post("/simulator/message", json={
                "session": session, "role": "referrer", "text": text, "message_id": f"{session}-{number}"})
            assert response.status_code == 200, response.text
            out.append(response.json()["replies"])
    return out


def test_a_conversation_carries_on_after_the_server_is_killed_and_restarted(env_for_cli: dict[str, Any]) -> None:
    half = len(WHOLE_REFERRAL) // 2
    with running_server(env_for_cli) as (base, server):
        _send(base, "restart", WHOLE_REFERRAL[:half], 0)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        first_output = server.stdout.read() if server.stdout else ""
    with running_server(env_for_cli) as (base, server):
        replies = _send(base, "restart", WHOLE_REFERRAL[half:], half)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        second_output = server.stdout.read() if server.stdout else ""
    assert "received and queued" in replies[-1][0]
    output = first_output + second_output
    assert "inbound handled" in output  # the server's log is really here...
    assert [form for form in LEAK_FORMS if form.lower() in output.lower()] == []  # ...and holds nothing personal


@refused_before_the_database
@pytest.mark.parametrize(("variable", "value", "named"), [
    ("PORT", "eighty", "PORT"),
    ("DATABASE_URL", "mysql://nope", "DATABASE_URL"),
    ("DATA_KEY", "too-short", "DATA_KEY"),
    ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
    ("MIN_AGE", "30", "MIN_AGE"),
])
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(
    env_for_cli: dict[str, Any], variable: str, value: str, named: str
) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], env={**env_for_cli, variable: value},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "Traceback" not in result.stderr


@refused_before_the_database
def test_production_without_a_data_key_refuses_to_start(env_for_cli: dict[str, Any]) -> None:
    env = {k: v for k, v in env_for_cli.items() if k != "DATA_KEY"}
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], env={**env, "ENVIRONMENT": "production"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "referral-bot: DATA_KEY is not set: production needs it in the environment (referral-bot keygen makes one)"
    )


@refused_before_the_database
def test_locally_a_missing_key_file_says_how_to_make_one(env_for_cli: dict[str, Any]) -> None:
    env = {k: v for k, v in env_for_cli.items() if k != "DATA_KEY"}
    result = subprocess.run([sys.executable, "-m", "bot", "referrals", "list"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "referral-bot keygen --file var/data.key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@refused_before_the_database
def test_an_unmigrated_database_is_a_clear_start_up_error(env_for_cli: dict[str, Any], tmp_path: Any) -> None:
    env = {**env_for_cli, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/empty.db", "PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "referral-bot migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_two_server_processes_share_one_conversation(env_for_cli: dict[str, Any]) -> None:
    with running_server(env_for_cli) as (first, _), running_server(env_for_cli) as (second, _):
        replies = []
        for number, text in enumerate(WHOLE_REFERRAL):
            base = first if number % 2 == 0 else second
            replies += _send(base, "two", [text], number)
    assert "received and queued" in replies[-1][0]
