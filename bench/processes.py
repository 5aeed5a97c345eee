"""Starting and watching the processes under test: `referral-bot serve` and `worker`, the bare endpoint."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["Proc", "free_port", "new_key", "peak_rss_mib", "start", "stop"]

BIN = Path(sys.executable).parent


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    def __init__(self, popen: subprocess.Popen[bytes], port: int, name: str) -> None:
        self.popen = popen
        self.port = port
        self.name = name

    @property
    def pid(self) -> int:
        return self.popen.pid


def start(args: list[str], env: dict[str, str], workdir: Path, name: str, port: int,
          health: str | None = "/healthz") -> Proc:
    """Start a process (its output to a log file) and wait until it answers on its port."""
    log = (workdir / f"{name}.log").open("ab")
    popen = subprocess.Popen(args, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180  # a loaded machine starts Python slowly
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{name} exited with {popen.returncode}: see {workdir / (name + '.log')}")
        if port and _answers(port, health):
            return Proc(popen, port, name)
        if not port:  # nothing to ask: alive a few seconds after starting will do
            time.sleep(3.0)
            if popen.poll() is None:
                return Proc(popen, port, name)
            continue
        time.sleep(0.2)
    popen.kill()
    raise RuntimeError(f"{name} did not start within 3 minutes")


def _answers(port: int, health: str | None) -> bool:
    try:
        if health is None:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def peak_rss_mib(proc: Proc) -> float:
    """The process's peak resident set so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(proc: Proc) -> None:
    proc.popen.terminate()
    try:
        proc.popen.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.popen.kill()
        proc.popen.wait()
