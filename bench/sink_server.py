"""The --server half of ``bench/sink.py``: the same ticks into a real QuestDB, side by
side with the raw client and with DuckDB (see that file's docstring)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import questdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.config import SinkConfig
from daemon.events import Observer
from daemon.sink import BatchingSink
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.sources.synthetic.source import SyntheticConfig, simulate_day
from ghtrader_core.store.base import DayWrite, Store
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.questdb.store import QuestDBStore, day_frames
from ghtrader_core.store.questdb.visibility import read_targets
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import fingerprint
from tests.questdb_helpers import drop_all
from tests.questdb_server import Endpoint, QuestDBServer, user_endpoint

REPO = Path(__file__).resolve().parents[1]
SYMBOLS = ("KQ.m@SHFE.cu", "KQ.m@SHFE.rb", "KQ.m@INE.sc")  # L5 exchanges: 27 float columns
SENDER_THREADS = [1]  # --sender-threads: the store's ILP threads in --server runs


def make_days(rows: int) -> list[DayWrite]:
    """Whole symbol-days, all symbols per trading day, until ``rows`` are reached."""
    cal = TradingCalendar()
    out: list[DayWrite] = []
    total = 0
    for day in cal.trading_days(date(2025, 11, 3), date(2026, 12, 31)):
        for text in SYMBOLS:
            frame = simulate_day(SyntheticConfig(seed=5), cal, parse_main(text), day)[0]
            out.append(DayWrite(frame, fingerprint(frame.ticks)))
            total += frame.rows
        if total >= rows:
            return out
    return out


def batches(days: Sequence[DayWrite], batch_rows: int) -> list[list[DayWrite]]:
    """Group days as the sink does: in arrival order until ``batch_rows`` rows."""
    out: list[list[DayWrite]] = [[]]
    rows = 0
    for d in days:
        out[-1].append(d)
        rows += d.day.rows
        if rows >= batch_rows:
            out.append([])
            rows = 0
    return [b for b in out if b]


# -- against a real server (--server) ------------------------------------------------------


def ticks_only(days: Sequence[DayWrite]) -> list[DayWrite]:
    return [DayWrite(d.day, d.fingerprint, None) for d in days]


async def fresh_questdb(endpoint: Endpoint, *, drop: bool = True) -> QuestDBStore:
    """An opened store on empty tables (each path writes new rows, none upserts)."""
    if drop:
        await drop_all(endpoint)
    settings = endpoint.settings()
    ilp = dataclasses.replace(settings.ilp, threads=SENDER_THREADS[0])
    store = QuestDBStore(dataclasses.replace(settings, ilp=ilp))
    await store.open()
    return store


async def raw_client_s(groups: list[list[DayWrite]], endpoint: Endpoint) -> float:
    """(a) The client alone: ``Sender.dataframe`` of each batch's finished frames and one
    flush, no waiting for visibility and no bookkeeping (frames built before timing)."""
    store = await fresh_questdb(endpoint)
    await store.close()
    frames = [day_frames(g) for g in groups]
    host, port = endpoint.http_host_port
    conf = f"http::addr={host}:{port};protocol_version=2;auto_flush=off;max_buf_size={1 << 30};"

    def send_all() -> float:
        with questdb.Sender.from_conf(conf) as sender:
            started = time.perf_counter()
            for batch in frames:
                for f in batch:
                    sender.dataframe(f.frame, table_name=f.table, symbols=list(f.symbols), at=f.at)
                sender.flush()
            return time.perf_counter() - started

    seconds = await anyio.to_thread.run_sync(send_all)
    store = await fresh_questdb(endpoint, drop=False)  # untimed: let the server finish
    try:  # applying, so the next path does not pay for this one's rows
        await store.wait_visible(await read_targets(store._read_wal, ["ticks"]))
    finally:
        await store.close()
    return seconds


async def sink_run_s(days: Sequence[DayWrite], store: Store, batch_rows: int) -> float:
    """(b)/(c) The daemon's path: days through ``BatchingSink.run`` (on QuestDB
    pipelined), each batch flushed, visible and checkpointed before the run ends."""
    config = SinkConfig(flush_rows=batch_rows, flush_days=10_000, flush_interval_s=60)
    sink = BatchingSink(
        store, config, Observer(), run_id="bench", source_name="bench", code_version="0"
    )
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(sink.run)
        async with sink.sender() as send:
            for d in days:
                await send.send(d)
        sink.close_input()
    return time.perf_counter() - started


async def questdb_sink_s(days: Sequence[DayWrite], endpoint: Endpoint, batch_rows: int) -> float:
    store = await fresh_questdb(endpoint)
    try:
        return await sink_run_s(days, store, batch_rows)
    finally:
        await store.close()


async def duckdb_sink_s(days: Sequence[DayWrite], batch_rows: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "bench.duckdb")
        await store.open()
        try:
            return await sink_run_s(days, store, batch_rows)
        finally:
            await store.close()


def demo_backfill_s(endpoint: Endpoint) -> dict[str, float]:
    """``ghtraderd backfill`` on config/demo.toml, into DuckDB and into QuestDB (wall s)."""
    demo = (REPO / "config" / "demo.toml").read_text()
    rest = demo[demo.index("[source]") :]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, head in (
            ("duckdb", f'[store]\npath = "{Path(tmp) / "demo.duckdb"}"\n\n'),
            ("questdb", endpoint.toml() + f"sender_threads = {SENDER_THREADS[0]}\n\n"),
        ):
            cfg = Path(tmp) / f"{kind}.toml"
            cfg.write_text(head + rest)
            if kind == "questdb":
                anyio.run(drop_all, endpoint)
            env = {**os.environ, "QUESTDB_PASSWORD": endpoint.password}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "daemon.cli", "backfill", "-c", str(cfg)],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
            )
            out[kind] = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"demo backfill into {kind} failed: {done.stderr[-2000:]}")
    return out


def server_bench(args: argparse.Namespace) -> dict[str, Any]:
    user = user_endpoint()
    if args.ilp and args.pg:
        user = Endpoint(args.ilp, args.pg)
    server = None if user is not None else QuestDBServer.start_new()
    endpoint = user or server.endpoint()  # type: ignore[union-attr]
    try:
        days = ticks_only(make_days(args.rows))
        groups = batches(days, args.batch_rows)
        rows = sum(d.day.rows for d in days)
        anyio.run(questdb_sink_s, days[:3], endpoint, args.batch_rows)  # warm-up
        raw, sink, duck = [], [], []
        for _ in range(args.repeat):  # interleaved: load on the machine hits all alike
            raw.append(anyio.run(raw_client_s, groups, endpoint))
            sink.append(anyio.run(questdb_sink_s, days, endpoint, args.batch_rows))
            duck.append(anyio.run(duckdb_sink_s, days, args.batch_rows))
        result: dict[str, Any] = {
            "rows": rows,
            "batches": len(groups),
            "server": "started here" if server else "given",
            "raw_rows_per_s": round(rows / min(raw)),
            "sink_rows_per_s": round(rows / min(sink)),
            "ratio": round(min(raw) / min(sink), 3),
            "duckdb_rows_per_s": round(rows / min(duck)),
        }
        if args.demo:
            wall = demo_backfill_s(endpoint)
            result["demo_duckdb_s"] = round(wall["duckdb"], 2)
            result["demo_questdb_s"] = round(wall["questdb"], 2)
            result["demo_questdb_over_duckdb"] = round(wall["questdb"] / wall["duckdb"], 2)
        return result
    finally:
        if server is not None:
            server.stop()


def print_server(result: dict[str, Any], repeat: int) -> None:
    print(f"{result['rows']:,} rows in {result['batches']} batches, best of {repeat}")
    print(f"{'path':<52}{'rows/s':>12}{'vs (a)':>9}")
    raw = result["raw_rows_per_s"]
    for name, key in (
        ("(a) raw client: Sender.dataframe + flush, no wait", "raw_rows_per_s"),
        ("(b) our sink: flush + visible + checkpoint", "sink_rows_per_s"),
        ("(c) our sink into DuckDB", "duckdb_rows_per_s"),
    ):
        print(f"{name:<52}{result[key]:>12,}{result[key] / raw:>9.2f}")
    if "demo_questdb_s" in result:
        print(
            f"demo backfill wall time: DuckDB {result['demo_duckdb_s']} s, QuestDB "
            f"{result['demo_questdb_s']} s ({result['demo_questdb_over_duckdb']}x)"
        )


