"""Read API vs the raw driver on the same days, one day's latency, and the export rate.

Fills a temporary DuckDB store with ``--days`` trading days of KQ.m@SHFE.cu (synthetic
exchange, 55,800 L5 ticks a day, inline validation), then, in one run on the same days:

- raw: DuckDB ``fetch_df()`` of ``SELECT * FROM ticks WHERE symbol = ? AND trading_day
  BETWEEN ? AND ? ORDER BY datetime, id`` on its own connection (what a researcher who
  knows the table layout would write);
- api: ``Reader.ticks(symbol, start, end)``: the same rows in the tick schema with
  ``segment``, days planned from the day index (statuses, rolls);
- day: ``Reader.ticks`` of a single day, every day ``--repeat`` times: P95 in ms;
- export: ``Reader.export`` of all days to a fresh Parquet dataset: rows/s.

Raw and API runs alternate and each figure is the median of ``--repeat`` runs, so load
from other processes hits both alike; ``ratio`` = api rows/s / raw rows/s.
With ``--questdb-ilp``/``--questdb-pg`` (or GHTRADER_TEST_QUESTDB_ILP/_PG) the same is
measured on that QuestDB (filled with the same days; re-filling is idempotent), the raw
side being asyncpg ``fetch`` of the same statement the store runs.

    .venv/bin/python bench/read.py [--days 20] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import asyncpg
import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from daemon.config import load_config  # noqa: E402
from daemon.factory import build_validator  # noqa: E402
from daemon.logs import configure_logging  # noqa: E402
from daemon.pipeline import backfill  # noqa: E402
from ghtrader_core.calendar import TradingCalendar  # noqa: E402
from ghtrader_core.read import ALL_STATUSES, Reader  # noqa: E402
from ghtrader_core.sources.synthetic.source import SyntheticConfig, SyntheticSource  # noqa: E402
from ghtrader_core.store.base import Store  # noqa: E402
from ghtrader_core.store.duckdb.store import DuckDBStore  # noqa: E402
from ghtrader_core.store.questdb.ilp import IlpSettings  # noqa: E402
from ghtrader_core.store.questdb.pg import PgSettings  # noqa: E402
from ghtrader_core.store.questdb.read import READ_TICKS, tick_window  # noqa: E402
from ghtrader_core.store.questdb.store import QuestDBSettings, QuestDBStore  # noqa: E402

SYMBOL = "KQ.m@SHFE.cu"
FIRST = date(2025, 11, 3)
CAL = TradingCalendar()


def fill(store: Store, tmp: Path, days: list[date]) -> None:
    cfg_path = tmp / "bench.toml"
    cfg_path.write_text(
        f'[store]\npath = "{tmp / "unused.duckdb"}"\n[source.synthetic]\nseed = 7\n'
        f'[ingest]\nsymbols = ["{SYMBOL}"]\nstart = {days[0]}\nend = {days[-1]}\n'
        "[download]\nconcurrency = 4\n[log]\nlevel = \"warning\"\n"
    )
    cfg = load_config(cfg_path)
    configure_logging("warning", "console")

    async def go() -> None:
        await store.open()
        try:
            source = SyntheticSource(CAL, SyntheticConfig(seed=7))
            await backfill(cfg, store, source, CAL, validator=build_validator(cfg, CAL))
        finally:
            await store.close()

    anyio.run(go)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = fn()
    return time.perf_counter() - started, rows


def compare(
    reader: Reader, raw: Callable[[], int], days: list[date], repeat: int, out: Path
) -> dict[str, Any]:
    """Alternating raw/api runs over all days, single-day latency, one export."""
    raw_s, api_s = [], []
    rows = 0
    for i in range(repeat):
        runs = [("raw", raw), ("api", lambda: len(reader.ticks(SYMBOL, days[0], days[-1],
                                                               statuses=ALL_STATUSES)))]
        for name, fn in runs if i % 2 == 0 else runs[::-1]:
            seconds, n = timed(fn)
            (raw_s if name == "raw" else api_s).append(seconds)
            if rows and n != rows:
                raise SystemExit(f"{name} read {n} rows, expected {rows}")
            rows = n
    day_ms = []
    for _ in range(repeat):
        for day in days:
            seconds, _n = timed(lambda d=day: len(reader.ticks(SYMBOL, d, d,  # type: ignore[misc]
                                                               statuses=ALL_STATUSES)))
            day_ms.append(seconds * 1000)
    summary = reader.export(out, [SYMBOL], days[0], days[-1], statuses=ALL_STATUSES)
    api = rows / statistics.median(api_s)
    raw_rate = rows / statistics.median(raw_s)
    return {
        "days": len(days),
        "rows": rows,
        "api_rows_per_s": round(api),
        "raw_rows_per_s": round(raw_rate),
        "ratio": round(api / raw_rate, 3),
        "day_p95_ms": round(sorted(day_ms)[min(len(day_ms) - 1, int(len(day_ms) * 0.95))], 1),
        "day_median_ms": round(statistics.median(day_ms), 1),
        "export_rows_per_s": round(summary.rows_written / summary.wall_s),
    }


def duckdb_figures(tmp: Path, days: list[date], repeat: int) -> dict[str, Any]:
    path = tmp / "store.duckdb"
    fill(DuckDBStore(path), tmp, days)
    with Reader.open(DuckDBStore(path)) as reader:
        con = duckdb.connect(str(path))  # the same database instance, its own connection
        sql = (
            "SELECT * FROM ticks WHERE symbol = ? AND trading_day BETWEEN ? AND ? "
            "ORDER BY datetime, id"
        )

        def raw() -> int:
            return len(con.execute(sql, [SYMBOL, days[0], days[-1]]).fetch_df())

        try:
            return compare(reader, raw, days, repeat, tmp / "export-duckdb")
        finally:
            con.close()


def questdb_settings(ilp: str, pg: str) -> QuestDBSettings:
    match = re.search(r"addr=([^;:]+):(\d+)", ilp)
    if match is None:
        raise SystemExit(f"--questdb-ilp has no addr=host:port: {ilp!r}")
    dsn = urlparse(pg)
    return QuestDBSettings(
        ilp=IlpSettings(host=match.group(1), port=int(match.group(2))),
        pg=PgSettings(
            host=dsn.hostname or "127.0.0.1",
            port=dsn.port or 8812,
            user=unquote(dsn.username or "admin"),
            password=unquote(dsn.password or "quest"),
            database=(dsn.path or "/qdb").lstrip("/") or "qdb",
        ),
    )


def questdb_figures(tmp: Path, days: list[date], repeat: int, ilp: str, pg: str) -> dict[str, Any]:
    settings = questdb_settings(ilp, pg)
    fill(QuestDBStore(settings), tmp, days)
    with Reader.open(QuestDBStore(settings)) as reader:
        args = tick_window(SYMBOL, days[0], days[-1])

        async def fetch() -> int:
            conn = await asyncpg.connect(pg)
            try:
                return len(await conn.fetch(READ_TICKS.text, *args))
            finally:
                await conn.close()

        return compare(reader, lambda: anyio.run(fetch), days, repeat, tmp / "export-questdb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--questdb-ilp", default=os.environ.get("GHTRADER_TEST_QUESTDB_ILP", ""))
    parser.add_argument("--questdb-pg", default=os.environ.get("GHTRADER_TEST_QUESTDB_PG", ""))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    days = CAL.trading_days(FIRST, date(2026, 12, 31))[: args.days]
    with tempfile.TemporaryDirectory(prefix="bench-read-") as tmp:
        result = duckdb_figures(Path(tmp), days, args.repeat)
        quest = None
        if args.questdb_ilp and args.questdb_pg:
            quest = questdb_figures(
                Path(tmp), days, args.repeat, args.questdb_ilp, args.questdb_pg
            )
    result["questdb"] = quest
    if args.json:
        print(json.dumps(result))
        return
    print(f"read API vs raw driver, {result['days']} days of {SYMBOL} "
          f"({result['rows']:,} rows), median of {args.repeat}")
    print(f"{'store':8} {'api rows/s':>12} {'raw rows/s':>12} {'ratio':>6} "
          f"{'day p95 ms':>11} {'day med ms':>11} {'export rows/s':>14}")
    for name, r in (("duckdb", result), ("questdb", quest)):
        if r is None:
            print(f"{name:8} (no server: give --questdb-ilp/--questdb-pg)")
            continue
        print(f"{name:8} {r['api_rows_per_s']:>12,} {r['raw_rows_per_s']:>12,} "
              f"{r['ratio']:>6.2f} {r['day_p95_ms']:>11} {r['day_median_ms']:>11} "
              f"{r['export_rows_per_s']:>14,}")


if __name__ == "__main__":
    main()
