"""The fault suite's helpers: the real `serve` process, providers that retry, and a PostgreSQL of its own.

Everything here drives the app from outside, as Twilio and Telegram do: signed requests over real
sockets to a `python -m bot serve` process that the tests kill, starve of its database, or flood.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from channels_support import PUBLIC_BASE_URL, TELEGRAM_SECRET, TWILIO_NUMBER
from fakes.twilio_api import signed_inbound
from support import free_port

INBOUND_URL = PUBLIC_BASE_URL + "/sms/inbound"
START_TIMEOUT = 60.0


def provider_env(env_for_cli: dict[str, Any], twilio: Any, telegram: Any, **extra: str) -> dict[str, str]:
    """The environment of a `serve` process wired to the stand-in Twilio and Telegram."""
    env = {**env_for_cli, "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
           "TWILIO_FROM_NUMBER": TWILIO_NUMBER, "TWILIO_API_BASE_URL": twilio.base_url,
           "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_MODE": "webhook",
           "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET, "TELEGRAM_API_BASE_URL": f"{telegram.base_url}/bot",
           "OUTBOX_POLL_SECONDS": "0.2", "SMS_RATE_PER_SECOND": "1000", "SIMULATOR_RATE_PER_MINUTE": "100000",
           "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    return {key: str(value) for key, value in env.items()} | extra


class Server:
    """`python -m bot serve` as a child process on a fixed port, so it can be killed and started again there."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait_healthy: bool = True) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve"],
                                            env={**self.env, "PORT": str(self.port)},
                                            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited at start: {self.output()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200 or not wait_healthy:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not start in {START_TIMEOUT:.0f} s")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, whatever was in flight is cut off."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[Server]:
    server = Server(env, log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sms_webhook(twilio: Any, sender: str, text: str, sid: str) -> tuple[dict[str, str], dict[str, str]]:
    """A signed inbound SMS: the same sid gives the same request (as Twilio's retries are)."""
    return signed_inbound(INBOUND_URL, twilio.auth_token, From=sender, To=TWILIO_NUMBER, Body=text, MessageSid=sid)


def twiml_messages(xml: str) -> list[str]:
    """The texts of a TwiML answer's <Message> elements."""
    from xml.etree import ElementTree

    return [element.text or "" for element in ElementTree.fromstring(xml).iter("Message")]


async def post_until_answered(http: httpx.AsyncClient, path: str, *, data: Any = None, json: Any = None,
                              headers: dict[str, str] | None = None, give_up_after: float = 60.0) -> httpx.Response:
    """Send the same request until it gets a 200, as a provider retries a webhook that got no answer."""
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            response = await http.post(path, data=data, json=json, headers=headers)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} got no 200 in {give_up_after:.0f} s")
        await asyncio.sleep(0.05)


# --- a PostgreSQL cluster of the test's own ---------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are, as .ci/with-postgres finds them; None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        resolved = Path(found).resolve().parent
        if (resolved / "pg_ctl").exists():
            return resolved
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name),
                        reverse=True)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


class PrivateCluster:
    """A throwaway cluster (temp dir, loopback, free port) that a test may stop and start at will.

    Its own, so stopping it touches no other test's database. As root, run as the `postgres` user (the
    server refuses root), like .ci/with-postgres.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = None
        if os.geteuid() == 0:
            import pwd

            try:
                self.user = pwd.getpwnam("postgres").pw_name
            except KeyError:
                self.user = "referralbot-pg"
        self.root = Path(tempfile.mkdtemp(prefix="referralbot-faults-pg.", dir="/tmp"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres?ssl=disable"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        env = {**os.environ, "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin"}
        result = subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True, timeout=90)
        if check and result.returncode != 0:
            raise AssertionError(f"{args[0]} failed: {result.stdout}{result.stderr}")
        return result

    def create(self) -> None:
        self.sockets.mkdir()
        if self.user is not None:
            shutil.chown(self.root, self.user)
            shutil.chown(self.sockets, self.user)
        os.chmod(self.root, 0o700)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--no-locale")
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"), "-w",
                  "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop",
                  check=False)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
