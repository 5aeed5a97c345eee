"""bench/results.json (its keys are a contract) and bench/RESULTS.md, from one run's figures."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.__main__ import Run
    from bench.load import LoadResult

__all__ = ["markdown", "results"]


def _inbound(full: LoadResult, bare: LoadResult) -> dict[str, float]:
    return {"full_rps": round(full.rps, 1), "bare_rps": round(bare.rps, 1), "ratio": round(full.rps / bare.rps, 3),
            "p50_ms": round(full.percentile_ms(0.5), 1), "p99_ms": round(full.percentile_ms(0.99), 1)}


def results(run: Run, peak_rss: float, machine: str, when: datetime) -> dict[str, Any]:
    loads = run.loads
    bare = loads["bare"]
    p50_1k = loads["full sqlite"].percentile_ms(0.5)
    p50_1m = loads["full sqlite, 1M rows"].percentile_ms(0.5)
    return {
        "inbound": {"sqlite": _inbound(loads["full sqlite"], bare), "postgres": _inbound(loads["full postgres"], bare),
                    "client_ceiling_rps": round(loads["client ceiling"].rps, 1), "referrers": 32,
                    "warmup_s": run.figures["warmup_s"], "seconds": run.figures["seconds"]},
        "growth": {"p50_1k_ms": round(p50_1k, 1), "p50_1m_ms": round(p50_1m, 1), "ratio": round(p50_1m / p50_1k, 2),
                   "database": "sqlite", "rows": run.figures["growth_rows"]},
        "reminders": run.figures["reminders"],
        "scale_out": run.figures["scale_out"],
        "texts_per_referral": run.figures["texts_per_referral"],
        "segments_per_referral": run.figures["segments_per_referral"],
        "segments_per_reminder": run.figures["segments_per_reminder"],
        "peak_rss_mib": round(peak_rss, 1),
        "machine": machine,
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": run.load_average,
    }


def _row(name: str, load: LoadResult, bare: LoadResult) -> str:
    return (f"| {name} | {load.rps:,.0f} | {load.percentile_ms(0.5):.1f} | {load.percentile_ms(0.99):.1f} | "
            f"{load.rps / bare.rps:.3f} | {load.errors} | {load.referrals_sent} |")


def markdown(run: Run, figures: dict[str, Any]) -> str:
    loads = run.loads
    bare = loads["bare"]
    rem = figures["reminders"]
    scale = figures["scale_out"]
    growth = figures["growth"]
    lines = [
        "# `make bench`: results",
        "",
        f"Run on {figures['date']}: {figures['machine']}.",
        "",
        "Load average (1, 5, 15 min) during the run, from /proc/loadavg: other work shares this machine, and a "
        "load above the 2 cores means the figures below were measured under load and are lower than on an idle "
        "machine.",
        "",
        *[f"- {entry}" for entry in figures["load_average"]],
        "",
        "## Inbound SMS",
        "",
        "32 referrers at once, each on one keep-alive connection, texting signed Twilio webhooks (signatures "
        "computed as Twilio computes them) and answering what the dialog asks, a new referral (and number) "
        f"when one is sent; a {figures['inbound']['warmup_s']:.0f} s warm-up, then {figures['inbound']['seconds']:.0f} "
        "s measured (the requests answered in that window). `referral-bot serve` as shipped (one uvicorn worker, "
        "INFO logging). Every row of this table was measured in the same run, one after another.",
        "",
        "| server | requests/s | p50 ms | p99 ms | vs bare | errors | referrals sent |",
        "|---|---|---|---|---|---|---|",
        _row("client ceiling (trivial asyncio server, canned bytes)", loads["client ceiling"], bare),
        _row("bare: FastAPI + RequestValidator + fixed TwiML, same uvicorn", bare, bare),
        _row("full path, SQLite (1,000 rows of each)", loads["full sqlite"], bare),
        _row("full path, PostgreSQL, one process", loads["full postgres"], bare),
        _row(f"full path, SQLite, {growth_rows(run)} rows of each", loads["full sqlite, 1M rows"], bare),
        _row("full path, PostgreSQL, 2 app processes + 2 workers", loads["full postgres, 2 processes"], bare),
        "",
        "PostgreSQL is the throwaway cluster the tests use (`.ci/with-postgres`: fsync, synchronous_commit and "
        "full_page_writes off), on the same machine: commits cost less than on a production server.",
        "",
        "Goal (issue 15): the full path at 0.40 of bare or better with p99 under 100 ms on both databases. "
        f"Measured: SQLite {figures['inbound']['sqlite']['ratio']:.3f}, PostgreSQL "
        f"{figures['inbound']['postgres']['ratio']:.3f}. This work measures; making the path faster is the next "
        "piece of work.",
        "",
        f"Peak resident memory of a `serve` process over these runs: {figures['peak_rss_mib']:.0f} MiB.",
        "",
        "## Growth",
        "",
        f"p50 with 1,000 stored referrals, conversations, inbound messages and contacts: {growth['p50_1k_ms']} ms; "
        f"with {growth_rows(run)}: {growth['p50_1m_ms']} ms: {growth['ratio']}x (goal: within 1.25x). SQLite only: "
        "seeding a million rows of each into PostgreSQL as well would not fit the 15-minute budget on this "
        "machine. Rows inserted in bulk (one INSERT ... SELECT per table, SQLite looping in C), encrypted values "
        "real AES-GCM of realistic size (a pool encrypted once, written with SQLAlchemy Core executemany, and "
        "reused with its row uids); no ANALYZE, as the app never runs one.",
        "",
        "### Query plans of the inbound path",
        "",
        "Every statement two messages run (a new sender's first text, then their answer), captured from the "
        "real code in this process and explained against the databases the load ran on.",
        "",
    ]
    for where, plans in run.plans.items():
        lines += [f"#### {where}", ""]
        for number, (statement, plan) in enumerate(plans, 1):
            shown = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", " ".join(statement.split()))
            lines += [f"{number}. `{shown[:400]}`", "", "   ```",
                      *[f"   {step}" for step in plan], "   ```", ""]
    lines += [
        "## Reminders",
        "",
        f"{rem['count']:,} due reminders (each to its own number) through the real dispatcher and SMS sender, "
        "the stand-in Twilio taking 100 ms a call, SMS_RATE_PER_SECOND=1000 (the limit off).",
        "",
        "| | seconds | |",
        "|---|---|---|",
        f"| sequential sends (a sample of {rem['sequential_sample']}, one whole send after another, "
        f"extrapolated) | {rem['sequential_s']:,} | |",
        f"| the dispatcher | {rem['dispatcher_s']:,} | {rem['speedup']}x faster (goal: 50x) |",
        "",
        f"With SMS_RATE_PER_SECOND=30 over {RATE_NOTE}: {rem['rate_limited_per_s']}/s from the first send to the "
        f"last, as the stand-in Twilio timed them; at most {rem['rate_limited_max_in_one_second']} in any one second. "
        "Goal: within 5% of 30/s and never above.",
        "",
        "## Scale-out",
        "",
        f"2 `serve` processes and 2 `worker` processes on one PostgreSQL, the referrers split between the two "
        f"servers, 2,000 reminders going out through the workers and the apps' dispatchers meanwhile: "
        f"{scale['rps']:,} requests/s, {scale['ratio']}x one process. Exactly once: {scale['duplicates']} "
        "duplicates (reminders the stand-in Twilio took twice, inbound messages stored or processed twice, or "
        "answered and not stored).",
        "",
        "## Cost",
        "",
        f"A whole referral over SMS: the referrer sends {figures['texts_per_referral']} texts and receives "
        f"{figures['segments_per_referral']} SMS segments. A reminder: {figures['segments_per_reminder']} segment.",
        "",
        "## What the profile shows",
        "",
    ]
    lines += _profile(run)
    lines += ["", "## How to run it", "", "`make bench` (10 to 15 minutes here, depending on the load). "
              "`BENCH_SECONDS`, "
              "`BENCH_GROWTH_ROWS` and `BENCH_REMINDERS` shorten it for a try-out; `BENCH_KEEP=1` keeps the "
              "servers' logs and databases.", ""]
    return "\n".join(lines)


RATE_NOTE = "300 reminders"


def growth_rows(run: Run) -> str:
    return f"{run.figures['growth_rows']:,}"


def _profile(run: Run) -> list[str]:
    found = run.profiled
    if found is None or not found.samples:
        return ["(no profile was taken)"]
    lines = [
        textwrap.fill(
            f"py-spy sampled the SQLite `serve` process for 12 s at 200 Hz under the same load ({found.samples:,} "
            f"samples of work on every thread; {found.idle:,} more were threads waiting, left out). Each sample "
            "is put down to the innermost library (or "
            "module of ours) it was in: where the CPU time itself goes. The second column is the share of samples "
            "with that library anywhere on the stack (what it and everything it called cost).", 100),
        "",
        "| where | own time | with what it calls |",
        "|---|---|---|",
    ]
    own = dict(found.own)
    for name, share in sorted(found.within, key=lambda item: (-own.get(item[0], 0.0), -item[1])):
        lines.append(f"| {name} | {own.get(name, 0.0):.1%} | {share:.1%} |")
    return lines
