"""Planning time: 60 symbols x 10 years of trading days against a store holding all of
their checkpoints, and half of them (every other day missing).

Times ``daemon.planner.plan`` (compact arrays from ``Store.checkpointed_days``) against the
planner it replaced (one ``Checkpoint`` object per stored day from ``Store.checkpoints``,
a set of pairs), both in the same run. DuckDB always; QuestDB too with ``--questdb``: on
the server GHTRADER_TEST_QUESTDB_ILP / _PG name (its tables are dropped), or else on the
vendored server (``../shared/vendor/questdb``), started for the run.

    .venv/bin/python bench/plan.py [--symbols 60] [--years 10] [--repeat 3] [--questdb]
                                   [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.logs import configure_logging
from daemon.planner import Job, Plan, plan
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.records import Checkpoint
from ghtrader_core.store.base import Store
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.rows import CHECKPOINT_COLUMNS, checkpoint_row

CAL = TradingCalendar()
VARIETIES = ["cu", "al", "zn", "pb", "ni", "sn", "au", "ag", "rb", "hc", "ru", "bu", "fu", "sp",
             "ss", "wr", "ao", "br", "sc", "lu"]
EXCHANGES = ["SHFE", "DCE", "CZCE"]


def symbols(n: int) -> list[str]:
    return [f"KQ.m@{EXCHANGES[i // len(VARIETIES) % 3]}.{VARIETIES[i % len(VARIETIES)]}{i}"
            for i in range(n)]


async def old_plan(store: Store, names: Sequence[str], start: date, end: date) -> Plan:
    """The planner before: one Checkpoint per stored day, a set of (symbol, day) pairs."""
    days = CAL.trading_days(start, end)
    wanted = [Job(d, s) for d in days for s in names]
    done = set(await store.checkpoints(names, start, end))
    jobs = [j for j in wanted if (j.symbol_name, j.trading_day) not in done]
    return Plan(jobs=jobs, skipped=len(wanted) - len(jobs), start=start, end=end)


async def best_of(repeat: int, fn: Callable[[], Awaitable[Plan]]) -> tuple[float, Plan]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await fn()
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


Seed = Callable[[list[Checkpoint]], Awaitable[None]]


async def measure(store: Store, seed: Seed, names: list[str], start: date, end: date,
                  repeat: int) -> dict[str, dict[str, float]]:
    days = CAL.trading_days(start, end)
    now = datetime(2026, 1, 1)
    out: dict[str, dict[str, float]] = {}
    for case, parity in (("half", 0), ("all", 1)):  # "all" adds the other half
        await seed([Checkpoint(s, d, "X", 1, "fp", 0, "unvalidated", now)
                    for s in names for i, d in enumerate(days) if i % 2 == parity])
        new_s, new = await best_of(repeat, lambda: plan(store, CAL, names, start, end))
        old_s, old = await best_of(repeat, lambda: old_plan(store, names, start, end))
        assert new.jobs == old.jobs and new.skipped == old.skipped, case
        out[case] = {"symbol_days": len(days) * len(names), "to_fetch": len(new.jobs),
                     "plan_s": round(new_s, 4), "before_s": round(old_s, 4),
                     "speedup": round(old_s / new_s, 1)}
    return out


def duckdb_seeder(path: Path, store: DuckDBStore) -> Seed:
    """Bulk-load checkpoints (the store's own write path is per row: minutes for 146 k)."""

    async def seed(cps: list[Checkpoint]) -> None:
        await store.close()
        # the store's own row mapping and columns, so a new column cannot break the seed
        frame = pd.DataFrame(  # noqa: F841 (read by DuckDB below)
            [checkpoint_row(c) for c in cps], columns=list(CHECKPOINT_COLUMNS))
        cols = ", ".join(CHECKPOINT_COLUMNS)
        con = duckdb.connect(str(path))
        con.execute(f"INSERT INTO checkpoints ({cols}) SELECT {cols} FROM frame")
        con.close()
        await store.open()

    return seed


async def run(args: argparse.Namespace) -> dict[str, Any]:
    end = date(2025, 12, 31)
    start = date(end.year - args.years + 1, 1, 1)
    names = symbols(args.symbols)
    results: dict[str, Any] = {"symbols": args.symbols, "years": args.years,
                               "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.duckdb"
        store = DuckDBStore(path)
        await store.open()
        try:
            results["duckdb"] = await measure(
                store, duckdb_seeder(path, store), names, start, end, args.repeat)
        finally:
            await store.close()
    if args.questdb:
        results["questdb"] = await questdb_figures(names, start, end, args.repeat)
    return results


async def questdb_figures(names: list[str], start: date, end: date, repeat: int
                          ) -> dict[str, Any]:
    """On the server GHTRADER_TEST_QUESTDB_ILP/_PG name (its tables are dropped), else on
    the vendored one, started for this run and stopped after it."""
    from ghtrader_core.store.questdb.store import QuestDBStore
    from tests.questdb_helpers import drop_all
    from tests.questdb_server import QuestDBServer, user_endpoint, why_unavailable

    endpoint, server = user_endpoint(), None
    if endpoint is None:
        if (why := why_unavailable()) is not None:
            raise SystemExit(f"--questdb: {why}")
        print("starting the vendored QuestDB server ...", file=sys.stderr)
        server = QuestDBServer.start_new()
        endpoint = server.endpoint()
    try:
        await drop_all(endpoint)
        qdb = QuestDBStore(endpoint.settings())
        await qdb.open()
        try:
            async def seed(cps: list[Checkpoint]) -> None:
                for i in range(0, len(cps), 20_000):
                    await qdb.write_checkpoints(cps[i:i + 20_000], [])

            return await measure(qdb, seed, names, start, end, repeat)
        finally:
            await qdb.close()
    finally:
        if server is not None:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=60)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--questdb", action="store_true",
                        help="also on the server GHTRADER_TEST_QUESTDB_ILP / _PG name")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging("warning", "json")  # log lines to stderr: --json stays one object
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results))
        return
    print(f"planning {args.symbols} symbols x {args.years} years, best of {args.repeat} "
          f"({results['cores']} cores, shared with other work)")
    print(f"{'store':>8}{'case':>6}{'symbol-days':>13}{'to fetch':>10}{'plan s':>9}"
          f"{'before s':>10}{'speedup':>9}")
    for store in ("duckdb", "questdb"):
        for case, r in results.get(store, {}).items():
            print(f"{store:>8}{case:>6}{r['symbol_days']:>13}{r['to_fetch']:>10}"
                  f"{r['plan_s']:>9.3f}{r['before_s']:>10.3f}{r['speedup']:>8.1f}x")
    print("target: plan_s < 0.5 s")


if __name__ == "__main__":
    main()
