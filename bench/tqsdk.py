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
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# This file is named like the package it measures: keep its directory off the path, or
# ``import tqsdk`` (here and in the spawned workers, which inherit the path) finds it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from daemon.config import Config  # noqa: E402
from daemon.factory import build_calendar, build_source, build_store  # noqa: E402
from daemon.pipeline import backfill  # noqa: E402
from ghtrader_core.sources.tqsdk.source import tq_tick_columns  # noqa: E402
from ghtrader_core.sources.tqsdk.workers import decode, encode  # noqa: E402
from tests.tqsdk_server import StandIn, cont_rows, running  # noqa: E402

CONTRACTS = {"KQ.m@SHFE.cu": "SHFE.cu1909", "KQ.m@SHFE.al": "SHFE.al1909"}
DAYS = [date(2019, 9, 2), date(2019, 9, 3), date(2019, 9, 4), date(2019, 9, 5),
        date(2019, 9, 6), date(2019, 9, 9), date(2019, 9, 10), date(2019, 9, 11),
        date(2019, 9, 12), date(2019, 9, 16)]
NS = 1_000_000_000


def l5_frame(contract: str, days: list[date], ticks: int, seed: int) -> pd.DataFrame:
    """``ticks`` L5 ticks per trading day in TqSdk's columns, 21:00 the evening before to
    15:00 (all inside the trading day), ids running on across days."""
    rng = np.random.default_rng(seed)
    parts = []
    for n, day in enumerate(days):
        start = int(pd.Timestamp(day).tz_localize("Asia/Shanghai").value) - 3 * 3600 * NS
        step = (18 * 3600 * NS) // ticks
        price = 47_000 + np.cumsum(rng.integers(-1, 2, ticks)) * 10.0
        data: dict[str, Any] = {
            "id": np.arange(n * ticks, (n + 1) * ticks, dtype="int64") + 1_000_000,
            "datetime": start + np.arange(ticks, dtype="int64") * step,
            "last_price": price, "highest": price + 50, "lowest": price - 50,
            "average": price, "volume": np.cumsum(rng.integers(0, 20, ticks)).astype("float64"),
            "amount": np.cumsum(rng.integers(0, 20, ticks)) * 47_000.0 * 5,
            "open_interest": 200_000.0 + rng.integers(-500, 500, ticks),
        }
        for i in range(1, 6):
            data[f"bid_price{i}"] = price - 10.0 * i
            data[f"bid_volume{i}"] = rng.integers(1, 200, ticks).astype("float64")
            data[f"ask_price{i}"] = price + 10.0 * i
            data[f"ask_volume{i}"] = rng.integers(1, 200, ticks).astype("float64")
        data["symbol"], data["duration"] = contract, 0
        parts.append(pd.DataFrame(data)[tq_tick_columns(contract)])
    return pd.concat(parts, ignore_index=True)


def serve(conn: Connection, days: list[date], ticks: int) -> None:
    """The stand-in in its own process: builds the frames, pre-encodes them, serves."""
    s = StandIn(
        ticks={c: l5_frame(c, days, ticks, i) for i, c in enumerate(CONTRACTS.values())},
        cont_table={m.split("@")[1]: cont_rows([(date(2019, 8, 1), c)])
                    for m, c in CONTRACTS.items()},
    )
    for contract in CONTRACTS.values():
        s.encoded(contract)
    with running(s):
        conn.send(s.env())
        conn.recv()  # until told to stop


class StandInProcess:
    def __init__(self, days: list[date], ticks: int) -> None:
        ctx = mp.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(theirs, days, ticks), daemon=True)
        self.proc.start()
        self.env: dict[str, str] = self.conn.recv()

    def stop(self) -> None:
        self.conn.send(None)
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


def tq_config(tmp: Path, days: list[date], concurrency: int, **tqsdk: Any) -> Config:
    return Config(
        store={"path": tmp / "store.duckdb"},
        source={"kind": "tqsdk", "tqsdk": {"max_apis": max(concurrency, 1),
                                           "cache_dir": tmp / "cache", **tqsdk}},
        ingest={"symbols": list(CONTRACTS), "start": days[0], "end": days[-1]},
        download={"concurrency": concurrency, "retry_attempts": 2},
        daemon={"state_dir": tmp},
        log={"level": "warning"},
    )


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
