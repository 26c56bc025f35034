"""Sink benchmark: our QuestDB sink path against the raw client's encoder, same frames.

The same L5 frames (synthetic SHFE/INE days, >= 1 M rows by default) go through
  (a) the raw client: ``Buffer.dataframe`` on the finished ILP frame of each batch into
      a new ``Buffer``, encode only (what the client itself costs); also into one kept
      buffer, as our writer threads do, to show the sink's own overhead;
  (b) our sink: ``BatchingSink.flush`` -> ``QuestDBStore.write_days`` (frame building,
      sorting across the batch, one buffer, one flush) -> a null transport, then the
      visibility check and the checkpoints against a null PGWire;
and ILP protocol version 1 is encoded too, for the choice of version 2.

With ``--server`` the same ticks go, side by side and interleaved, into a real QuestDB
(``--ilp``/``--pg``, else ``GHTRADER_TEST_QUESTDB_ILP``/``_PG``, else the vendored server
started here and stopped at the end; the store's tables are dropped and re-created):
  (a) the raw client: ``Sender.dataframe`` + ``flush`` per batch, nothing waited for;
  (b) our sink: ``BatchingSink.run`` -> ``QuestDBStore`` (flush, visibility, checkpoints);
  (c) our sink into DuckDB. ``--demo`` also times ``ghtraderd backfill`` on the demo config
into both stores. JSON keys: raw_rows_per_s, sink_rows_per_s, ratio (b/a), duckdb_rows_per_s.

    .venv/bin/python bench/sink.py [--rows 1000000] [--batch-rows 250000] [--repeat 5] [--json]
    .venv/bin/python bench/sink.py --server [--demo] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sink_server import SENDER_THREADS, batches, make_days, print_server, server_bench
from daemon.config import SinkConfig
from daemon.events import Observer
from daemon.logs import configure_logging
from daemon.sink import BatchingSink
from ghtrader_core.store.base import DayWrite
from ghtrader_core.store.questdb import queries as q
from ghtrader_core.store.questdb import schema as schema
from ghtrader_core.store.questdb.ilp import (
    IlpSettings,
    IlpWriter,
    SenderLike,
    encode,
    new_buffer,
)
from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.store.questdb.store import QuestDBSettings, QuestDBStore, day_frames
from ghtrader_core.ticks import FLOAT_COLUMNS


class NullSender:
    """A transport that accepts every flush and drops the bytes."""

    def __init__(self) -> None:
        self.bytes = 0

    def establish(self) -> None:
        return None

    def flush(self, buffer: Any = None, clear: bool = True, transactional: bool = False) -> None:
        self.bytes += len(buffer)
        if clear:
            buffer.clear()

    def close(self, flush: bool = True) -> None:
        return None


class NullPg:
    """PGWire that has applied everything and accepts every bookkeeping row."""

    async def fetch(self, sql: Sql, *args: Any) -> list[Sequence[Any]]:
        if sql is q.WAL_TABLES:
            return [(t.name, False, 0, 0) for t in schema.TABLES]
        return []

    async def execute(self, sql: Sql, *args: Any) -> None:
        return None

    async def executemany(self, sql: Sql, rows: Sequence[tuple[Any, ...]]) -> None:
        return None

    async def close(self) -> None:
        return None


def raw_encode_s(
    groups: list[list[DayWrite]],
    protocol_version: int,
    *,
    full_precision: bool = False,
    reuse_buffer: bool = False,
) -> float:
    frames = [day_frames(g) for g in groups]  # prepared outside the timing: the floor
    if full_precision:  # every double needs all 17 digits in text (v1), as averages do
        for batch in frames:
            f = batch[0].frame
            for c in FLOAT_COLUMNS:
                f[c] = f[c] * (1.0 + 1e-12 * np.arange(len(f)))
    kept = new_buffer(protocol_version)
    started = time.perf_counter()
    for batch_frames in frames:
        buffer = kept if reuse_buffer else new_buffer(protocol_version)
        buffer.clear()
        encode(buffer, batch_frames)
    return time.perf_counter() - started


async def sink_s(groups: list[list[DayWrite]], store: QuestDBStore) -> float:
    sink = BatchingSink(
        store, SinkConfig(), Observer(), run_id="bench", source_name="bench", code_version="0"
    )
    started = time.perf_counter()
    for group in groups:
        await sink.flush(list(group))
    return time.perf_counter() - started


def null_store() -> QuestDBStore:
    sender = NullSender()

    def connect(settings: IlpSettings) -> SenderLike:
        return sender

    async def pg_connect(settings: Any) -> NullPg:
        return NullPg()

    store = QuestDBStore(
        QuestDBSettings(), pg_connect=pg_connect, writer=IlpWriter(IlpSettings(), connect=connect)
    )
    store._pg = NullPg()  # type: ignore[assignment]
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=5, help="best of N for each path")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--server",
        action="store_true",
        help="against a real QuestDB: --ilp/--pg, else GHTRADER_TEST_QUESTDB_ILP/_PG, "
        "else the vendored server started here",
    )
    parser.add_argument("--ilp", help="e.g. http::addr=127.0.0.1:9000;")
    parser.add_argument("--pg", help="e.g. postgresql://admin:quest@127.0.0.1:8812/qdb")
    parser.add_argument("--demo", action="store_true", help="also time the demo backfill")
    parser.add_argument("--sender-threads", type=int, default=1)
    args = parser.parse_args()
    configure_logging("warning", "console")
    SENDER_THREADS[0] = args.sender_threads
    if args.server:
        figures = server_bench(args)
        if args.json:
            print(json.dumps(figures))
        else:
            print_server(figures, args.repeat)
        return

    days = make_days(args.rows)
    groups = batches(days, args.batch_rows)
    rows = sum(d.day.rows for d in days)
    store = null_store()
    raw_encode_s(groups[:1], 2)  # warm-up: allocator and page faults, both paths
    anyio.run(sink_s, groups[:1], store)
    # interleaved, best of N: on a busy machine the noise hits both paths alike
    encode_runs, sink_runs, v1_runs, reused_runs = [], [], [], []
    for _ in range(args.repeat):
        encode_runs.append(raw_encode_s(groups, 2))
        sink_runs.append(anyio.run(sink_s, groups, store))
        v1_runs.append(raw_encode_s(groups, 1))
        reused_runs.append(raw_encode_s(groups, 2, reuse_buffer=True))
    encode_v2, sink, encode_v1 = min(encode_runs), min(sink_runs), min(v1_runs)
    reused = min(reused_runs)
    full_v2 = min(raw_encode_s(groups, 2, full_precision=True) for _ in range(2))
    full_v1 = min(raw_encode_s(groups, 1, full_precision=True) for _ in range(2))
    anyio.run(store.close)

    result: dict[str, Any] = {
        "rows": rows,
        "symbol_days": len(days),
        "batches": len(groups),
        "float_columns": 27,
        "encode_rows_per_s": round(rows / encode_v2),
        "sink_rows_per_s": round(rows / sink),
        "ratio": round(encode_v2 / sink, 3),
        "encode_reused_buffer_rows_per_s": round(rows / reused),
        "ratio_vs_reused_buffer": round(reused / sink, 3),
        "encode_v1_rows_per_s": round(rows / encode_v1),
        "v2_over_v1": round(encode_v1 / encode_v2, 2),
        "v2_over_v1_full_precision": round(full_v1 / full_v2, 2),
        "e2e_rows_per_s": None,  # end to end: --server
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{rows:,} rows, {len(days)} symbol-days in {len(groups)} batches, best of {args.repeat}")
    print(f"{'path':<44}{'rows/s':>14}{'vs (a)':>9}")
    lines = [
        ("(a) raw client: Buffer.dataframe, ILP v2", result["encode_rows_per_s"]),
        ("(b) our sink -> null transport, ILP v2", result["sink_rows_per_s"]),
        (
            "    raw client, one buffer kept (as the sink)",
            result["encode_reused_buffer_rows_per_s"],
        ),
        ("    raw client, ILP v1 (text)", result["encode_v1_rows_per_s"]),
        ("    full-precision doubles: v2 / v1 speed", None),
    ]
    for name, value in lines:
        if value is None:
            print(f"{name:<44}{'':>14}{result['v2_over_v1_full_precision']:>9.2f}")
            continue
        print(f"{name:<44}{value:>14,}{value / result['encode_rows_per_s']:>9.2f}")
    print("(end to end against a real QuestDB: --server)")


if __name__ == "__main__":
    main()
