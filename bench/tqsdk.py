"""Download throughput of the real tqsdk client: worker processes at concurrency 1, 2, 4.

A local stand-in of TqSdk's servers (``tests/tqsdk_server.py``, in a process of its own so
it does not share a core's GIL with the daemon) serves 8 L5 days of two contracts (4 days
each, ``--ticks`` per day, 55,801 like a busy SHFE cu day). For each concurrency level a
fresh DuckDB store gets the whole range through the real pipeline (``backfill``: schedule,
download in TqApi worker processes, normalise, validate, write); the wall time includes
the workers' start-up (the main-contract schedule is stored beforehand: one vendor query,
not part of the throughput). Also measures how a day frame travels back from a worker: pickled
vs Arrow IPC through a pipe.

    .venv/bin/python bench/tqsdk.py [--ticks 55801] [--levels 1 2 4] [--json]

Target: speedup >= 0.85 x min(concurrency, cores). The machine's cores are shared with
other work: the load average before and after is printed next to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

# This file is named like the package it measures: keep its directory off the path, or
# ``import tqsdk`` (here and in the spawned workers, which inherit the path) finds it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from daemon.config import Config  # noqa: E402
from daemon.factory import build_calendar, build_source, build_store  # noqa: E402
from daemon.logs import configure_logging  # noqa: E402
from daemon.pipeline import backfill  # noqa: E402
from ghtrader_core.sources.tqsdk.workers import decode, encode  # noqa: E402
from tests.tqsdk_load import CONTRACTS, DAYS, StandInProcess, l5_frame, tq_config  # noqa: E402


def run_backfill(cfg: Config) -> tuple[float, int]:
    async def go() -> tuple[float, int]:
        calendar = build_calendar(cfg)
        store, source = build_store(cfg), build_source(cfg, calendar)
        await store.open()
        days = calendar.trading_days(cfg.ingest.start, cfg.ingest.end or cfg.ingest.start)
        for symbol, contract in CONTRACTS.items():  # the schedule query is not what is timed
            await store.write_schedule(symbol, [(d, contract) for d in days])
        try:
            started = time.perf_counter()
            summary = await backfill(cfg, store, source, calendar)
            wall = time.perf_counter() - started
        finally:
            source.close()  # type: ignore[attr-defined]
            await store.close()
        assert summary.failed == 0, summary
        return wall, summary.rows

    return asyncio.run(go())


def transfer_ms(frame: pd.DataFrame, how: str, repeat: int = 5) -> float:
    """One day frame through a pipe and back into a DataFrame, best of ``repeat``."""
    ours, theirs = mp.Pipe()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        sender = threading.Thread(target=lambda: theirs.send(encode(frame, how)))
        sender.start()
        kind, payload = ours.recv()
        sender.join()
        out = decode(kind, payload)
        best = min(best, time.perf_counter() - started)
    assert len(out) == len(frame)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=55_801)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging("warning", "json")  # log lines to stderr: --json stays one object
    days = DAYS[:4]
    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]
    server = StandInProcess(days, args.ticks)
    try:
        for key, value in server.env.items():
            os.environ[key] = value
        os.environ.setdefault("TQSDK_USER", "tester")
        os.environ.setdefault("TQSDK_PASSWORD", "right-password")
        levels: dict[int, dict[str, float]] = {}
        for c in args.levels:
            with tempfile.TemporaryDirectory() as tmp:
                wall, rows = run_backfill(tq_config(Path(tmp), days, c))
            levels[c] = {"wall_s": round(wall, 2), "rows": rows,
                         "ticks_per_s": round(rows / wall)}
            print(f"concurrency {c}: {rows} ticks in {wall:.1f} s", file=sys.stderr)
    finally:
        server.stop()
    frame = l5_frame("SHFE.cu1909", days[:1], args.ticks, 0)
    base = levels[args.levels[0]]["ticks_per_s"]
    out: dict[str, Any] = {
        "cores": cores,
        "ticks_per_day": args.ticks,
        "days": len(days) * len(CONTRACTS),
        "ticks_per_s": {str(c): r["ticks_per_s"] for c, r in levels.items()},
        "speedup": {str(c): round(r["ticks_per_s"] / base, 2) for c, r in levels.items()},
        "target": {str(c): round(0.85 * min(c, cores), 2) for c in levels},
        "transfer_ms": {h: round(transfer_ms(frame, h), 1) for h in ("pickle", "arrow")},
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"real tqsdk {out['days']} L5 days x {args.ticks} ticks, stand-in server, "
          f"{cores} cores (load average {out['load_before']} -> {out['load_after']})")
    print(f"{'concurrency':>12}{'wall s':>9}{'ticks/s':>10}{'speedup':>9}{'target':>8}")
    for c, r in levels.items():
        print(f"{c:>12}{r['wall_s']:>9.1f}{r['ticks_per_s']:>10}"
              f"{out['speedup'][str(c)]:>8.2f}x{out['target'][str(c)]:>7.2f}x")
    t = out["transfer_ms"]
    print(f"one day frame worker -> daemon: pickle {t['pickle']} ms, Arrow IPC {t['arrow']} ms")


if __name__ == "__main__":
    main()
