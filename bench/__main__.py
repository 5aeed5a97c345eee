"""`make bench` (python -m bench): every figure beside its baseline, measured in one run; writes
bench/results.json and bench/RESULTS.md. Needs TEST_POSTGRES_URL (`.ci/with-postgres` gives it)."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import inpath, profile, reminders, report, seed
from bench.load import ACCOUNT_SID, AUTH_TOKEN, TWILIO_NUMBER, LoadResult, run_load
from bench.processes import BIN, Proc, free_port, new_key, peak_rss_mib, start, stop
from bot.settings import Settings, decode_data_key, load_settings
from flows.text import segment_count
from store import crypto
from store.db import make_engine, make_sessionmaker

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))  # the stand-in Twilio the tests use

from fakes.twilio_api import FakeTwilio  # noqa: E402

REFERRERS = 32
WARMUP = 5.0
MEASURE = float(os.environ.get("BENCH_SECONDS", "15"))
GROWTH_ROWS = int(os.environ.get("BENCH_GROWTH_ROWS", "1000000"))
REMINDERS = int(os.environ.get("BENCH_REMINDERS", "10000"))
SEQUENTIAL_SAMPLE = 200
RATE_LIMITED = 300
SCALE_REMINDERS = 2000
STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.0f} s] {text}", flush=True)


@dataclass
class Run:
    """Everything measured, for results.json and RESULTS.md."""

    figures: dict[str, Any] = field(default_factory=dict)
    loads: dict[str, LoadResult] = field(default_factory=dict)
    plans: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    profiled: profile.Profile | None = None
    notes: list[str] = field(default_factory=list)
    load_average: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, workdir: Path, postgres: str, twilio: FakeTwilio) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self.twilio = twilio
        self.data_key = new_key()
        self.session_key = new_key()
        self.run = Run()
        self.peak_rss = 0.0
        crypto.configure(decode_data_key(self.data_key))

    # --- set-up --------------------------------------------------------------------------------

    def env(self, database_url: str, port: int, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.upper() not in {f.upper() for f in Settings.model_fields}}
        env.update({
            "DATABASE_URL": database_url, "DATA_KEY": self.data_key, "SESSION_SECRET": self.session_key,
            "HOST": "127.0.0.1", "PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": TWILIO_NUMBER,
            "TWILIO_API_BASE_URL": self.twilio.base_url, "SIMULATOR_ENABLED": "false", "ENVIRONMENT": "development",
        })
        env.update(extra)
        return env

    def bench_env(self) -> dict[str, str]:
        """For the bench's own server processes: this package importable from the work directory."""
        return {**os.environ, "PYTHONPATH": str(ROOT)}

    def settings(self, database_url: str, **overrides: Any) -> Settings:
        return load_settings(**({
            "database_url": database_url, "data_key": self.data_key, "public_base_url": "http://127.0.0.1:8000",
            "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, "twilio_from_number": TWILIO_NUMBER,
            "twilio_api_base_url": self.twilio.base_url, "sms_rate_per_second": 1000} | overrides))

    def migrate(self, database_url: str) -> None:
        subprocess.run([str(BIN / "referral-bot"), "migrate"], env=self.env(database_url, 8000), cwd=self.workdir,
                       check=True, capture_output=True)

    def sqlite_url(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{self.workdir / name}"

    async def postgres_database(self, name: str) -> str:
        import asyncpg

        base = self.postgres.replace("postgresql+asyncpg://", "postgresql://").split("?")[0]
        connection = await asyncpg.connect(base)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        head, _, query = self.postgres.partition("?")
        return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")

    def serve(self, database_url: str, name: str, **extra: str) -> Proc:
        port = free_port()
        return start([str(BIN / "referral-bot"), "serve"], self.env(database_url, port, **extra), self.workdir,
                     name, port)

    def worker(self, database_url: str, name: str) -> Proc:
        # A worker serves no HTTP: PORT is only there because every setting is checked.
        return start([str(BIN / "referral-bot"), "worker"], self.env(database_url, free_port()), self.workdir, name,
                     0)

    def note_load(self, when: str) -> None:
        average = Path("/proc/loadavg").read_text().split()[:3]
        self.run.load_average.append(f"{when}: {' '.join(average)}")

    async def load(self, name: str, procs: list[Proc], *, scripted: bool = True, tag: str = "a",
                   first_referrer: int = 0) -> LoadResult:
        result = await run_load([p.port for p in procs], [f"http://127.0.0.1:{p.port}" for p in procs],
                                referrers=REFERRERS, warmup=WARMUP, seconds=MEASURE, scripted=scripted, tag=tag,
                                first_referrer=first_referrer)
        self.run.loads[name] = result
        say(f"  {name}: {result.rps:,.0f} requests/s, p50 {result.percentile_ms(0.5):.1f} ms, "
            f"p99 {result.percentile_ms(0.99):.1f} ms, errors {result.errors}, referrals sent {result.referrals_sent}")
        return result

    def full_serve_figures(self, procs: list[Proc]) -> None:
        for proc in procs:
            self.peak_rss = max(self.peak_rss, peak_rss_mib(proc))

    # --- the steps -----------------------------------------------------------------------------

    async def ceiling_and_bare(self) -> None:
        say("client ceiling: the load client against a trivial asyncio server that answers canned bytes")
        port = free_port()
        trivial = start([sys.executable, "-m", "bench.bare", "trivial", str(port)], self.bench_env(), self.workdir,
                        "trivial", port, health=None)
        try:
            await self.load("client ceiling", [trivial], tag="c")
        finally:
            stop(trivial)
        say("bare: FastAPI + RequestValidator + fixed TwiML, under uvicorn as `serve` runs it")
        port = free_port()
        bare = start([sys.executable, "-m", "bench.bare", str(port), f"http://127.0.0.1:{port}"], self.bench_env(),
                     self.workdir, "bare", port, health=None)
        try:
            await self.load("bare", [bare], tag="b")
        finally:
            stop(bare)

    async def inbound(self, label: str, database_url: str, *, profile_too: bool = False) -> None:
        say(f"full inbound path on {label}: `referral-bot serve`, {REFERRERS} referrers answering the dialog")
        self.note_load(f"before inbound {label}")
        server = self.serve(database_url, f"serve-{label}")
        try:
            await self.load(f"full {label}", [server], tag=label[:2])
            self.full_serve_figures([server])
            if profile_too:
                say("  profiling the same server under the same load (py-spy, 12 s)")
                raw = self.workdir / "profile.txt"
                task = asyncio.create_task(run_load([server.port], [f"http://127.0.0.1:{server.port}"],
                                                    referrers=REFERRERS, warmup=0, seconds=14, tag="p",
                                                    first_referrer=500))
                await asyncio.sleep(1)
                await asyncio.to_thread(profile.record, server.pid, 12, raw)
                await task
                self.run.profiled = profile.categorise(raw)
        finally:
            stop(server)

    async def growth(self) -> None:
        say(f"growth: a SQLite database with {GROWTH_ROWS:,} each of contacts, conversations, inbound messages "
            "and referrals")
        path = self.workdir / "growth.db"
        url = self.sqlite_url("growth.db")
        self.migrate(url)
        await asyncio.to_thread(seed.seed, str(path), GROWTH_ROWS, say)
        self.run.figures["growth_rows"] = GROWTH_ROWS
        self.note_load("before growth")
        server = self.serve(url, "serve-growth")
        try:
            await self.load("full sqlite, 1M rows", [server], tag="g", first_referrer=2000)
            self.full_serve_figures([server])
        finally:
            stop(server)
        sessions, engine = self.sessions(url)
        try:
            statements = await inpath.inbound_statements(sessions, self.settings(url), "+447700911111")
        finally:
            await engine.dispose()
        self.run.plans["SQLite, 1M rows"] = inpath.plans_sqlite(str(path), statements)

    def sessions(self, url: str) -> tuple[async_sessionmaker[AsyncSession], Any]:
        engine = make_engine(url)
        return make_sessionmaker(engine), engine

    async def postgres_plans_and_cost(self, url: str) -> None:
        sessions, engine = self.sessions(url)
        try:
            settings = self.settings(url)
            statements = await inpath.inbound_statements(sessions, settings, "+447700922222")
            self.run.plans["PostgreSQL (after the inbound run)"] = await inpath.plans_postgres(sessions, statements)
            cost = await inpath.referral_cost(sessions, settings, "+447700933333")
        finally:
            await engine.dispose()
        self.run.figures["texts_per_referral"] = cost.texts
        self.run.figures["segments_per_referral"] = cost.segments_received
        self.run.figures["segments_per_reminder"] = max(segment_count(reminders.reminder_body(n)) for n in range(5))
        say(f"cost: {cost.texts} texts sent, {cost.segments_received} segments received for one referral; "
            f"{self.run.figures['segments_per_reminder']} segment(s) a reminder")

    async def reminder_run(self) -> None:
        say(f"reminders: {REMINDERS:,} due, through the dispatcher, the stand-in Twilio taking 100 ms a call")
        url = self.sqlite_url("reminders.db")
        self.migrate(url)
        sessions, engine = self.sessions(url)
        settings = self.settings(url)
        try:
            await reminders.enqueue_reminders(sessions, SEQUENTIAL_SAMPLE, 0, say)
            self.twilio.stall_next(0.1, times=SEQUENTIAL_SAMPLE)
            sample = await reminders.run_sequential(sessions, settings, SEQUENTIAL_SAMPLE)
            sequential = sample / SEQUENTIAL_SAMPLE * REMINDERS
            say(f"  sequential: {SEQUENTIAL_SAMPLE} in {sample:.1f} s, so {REMINDERS:,} in {sequential:.0f} s")
            await reminders.enqueue_reminders(sessions, REMINDERS, 100_000, say)
            self.twilio.stall_next(0.1, times=REMINDERS)
            self.note_load("before the dispatcher run")
            took = await reminders.run_dispatcher(sessions, settings, SEQUENTIAL_SAMPLE + REMINDERS, say)
            say(f"  dispatcher: {REMINDERS:,} in {took:.1f} s: {sequential / took:.1f}x the sequential sends")
            await reminders.enqueue_reminders(sessions, RATE_LIMITED, 300_000, say)
            self.twilio.stall_next(0.1, times=RATE_LIMITED)
            first = len(self.twilio.messages)
            limited = self.settings(url, sms_rate_per_second=30)
            await reminders.run_dispatcher(sessions, limited, SEQUENTIAL_SAMPLE + REMINDERS + RATE_LIMITED, say)
            # From the first send on: the limit lets no burst out at the start, so none is left out.
            rate = reminders.rate_of(reminders.sent_stamps(self.twilio, first))
            say(f"  SMS_RATE_PER_SECOND=30: {rate.whole_per_s:.2f}/s over all {RATE_LIMITED}, "
                f"at most {rate.max_in_one_second} in any second")
        finally:
            await engine.dispose()
        self.run.figures["reminders"] = {
            "sequential_s": round(sequential, 1), "dispatcher_s": round(took, 1),
            "speedup": round(sequential / took, 1), "rate_limited_per_s": round(rate.whole_per_s, 2),
            "rate_limited_max_in_one_second": rate.max_in_one_second, "count": REMINDERS,
            "sequential_sample": SEQUENTIAL_SAMPLE}

    async def scale_out(self, one_process_rps: float) -> None:
        say("scale-out: 2 app processes + 2 workers on one PostgreSQL, reminders going out meanwhile")
        url = await self.postgres_database("bench_scale")
        self.migrate(url)
        apps = [self.serve(url, f"serve-scale-{n}") for n in (1, 2)]
        workers = [self.worker(url, f"worker-{n}") for n in (1, 2)]
        sessions, engine = self.sessions(url)
        first = len(self.twilio.messages)
        try:
            await reminders.enqueue_reminders(sessions, SCALE_REMINDERS, 400_000, say)
            self.note_load("before scale-out")
            result = await self.load("full postgres, 2 processes", apps, tag="s", first_referrer=3000)
            self.full_serve_figures(apps)
            deadline = time.monotonic() + 120
            while await reminders._sent(sessions) < SCALE_REMINDERS and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            duplicates = await self.duplicates(sessions, first, set(result.sids))
        finally:
            await engine.dispose()
            for proc in [*apps, *workers]:
                stop(proc)
        self.run.figures["scale_out"] = {"rps": round(result.rps, 1), "ratio": round(result.rps / one_process_rps, 2),
                                         "duplicates": duplicates}

    async def duplicates(self, sessions: async_sessionmaker[AsyncSession], first: int, answered: set[str]) -> int:
        """Reminders the stand-in Twilio took twice, plus inbound messages not stored and processed exactly once."""
        from sqlalchemy import func, select

        from flows.statuses import InboundStatus
        from store.models import InboundMessage

        sent = [m.to for m in list(self.twilio.messages)[first:]]
        twice = len(sent) - len(set(sent))
        async with sessions() as db:
            rows = (await db.execute(select(InboundMessage.provider_id, func.count()).group_by(
                InboundMessage.provider_id))).all()
            processed = int(await db.scalar(select(func.count()).select_from(InboundMessage).where(
                InboundMessage.status == InboundStatus.PROCESSED)) or 0)
        stored = {sid: count for sid, count in rows}
        doubled = sum(count - 1 for count in stored.values() if count > 1)
        missing = len(answered - set(stored))
        say(f"  exactly once: {len(sent)} reminders sent ({twice} twice); {len(stored)} inbound stored, "
            f"{processed} processed, {doubled} doubled, {missing} answered but not stored")
        return twice + doubled + missing

    # --- the whole run ----------------------------------------------------------------------------

    async def everything(self) -> None:
        self.run.figures |= {"warmup_s": WARMUP, "seconds": MEASURE}
        self.note_load("start")
        await self.ceiling_and_bare()
        sqlite = self.sqlite_url("inbound.db")
        self.migrate(sqlite)
        await asyncio.to_thread(seed.seed, str(self.workdir / "inbound.db"), 1000, say)
        await self.inbound("sqlite", sqlite, profile_too=True)
        postgres = await self.postgres_database("bench_one")
        self.migrate(postgres)
        await self.inbound("postgres", postgres)
        await self.postgres_plans_and_cost(postgres)
        await self.growth()
        await self.reminder_run()
        await self.scale_out(self.run.loads["full postgres"].rps)
        self.note_load("end")


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return (f"{os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def reminders_only() -> None:
    """`python -m bench reminders`: only the reminders step (SQLite), its figures printed, no files written."""
    workdir = Path(tempfile.mkdtemp(prefix="referral-bot-bench-"))
    try:
        with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as twilio:
            bench = Bench(workdir, "", twilio)
            asyncio.run(bench.reminder_run())
        print(json.dumps({"reminders": bench.run.figures["reminders"]}, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    if sys.argv[1:] == ["reminders"]:
        reminders_only()
        return
    postgres = os.environ.get("TEST_POSTGRES_URL")
    if not postgres:
        raise SystemExit("the bench needs PostgreSQL: run it through `make bench` (.ci/with-postgres starts one)")
    workdir = Path(tempfile.mkdtemp(prefix="referral-bot-bench-"))
    try:
        with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as twilio:
            bench = Bench(workdir, postgres, twilio)
            asyncio.run(bench.everything())
        # Kept for a report that fails to render: the measurements are the expensive part.
        (workdir / "run.pickle").write_bytes(pickle.dumps((bench.run, bench.peak_rss)))
        results = report.results(bench.run, bench.peak_rss, machine(), datetime.now(UTC))
        (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (HERE / "RESULTS.md").write_text(report.markdown(bench.run, results))
        say(f"wrote bench/results.json and bench/RESULTS.md in {time.monotonic() - STARTED:.0f} s")
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
