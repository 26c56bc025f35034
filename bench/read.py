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
measured on that QuestDB (filled with the same days; re-filling is idempotent). There
every option runs in the same alternating rounds on the same rows:

- raw (``raw_rows_per_s``, the baseline of ``ratio``): asyncpg ``fetch`` of the statement
  the store runs (all columns, whole range);
- raw_exp (``raw_exp_rows_per_s``, ``ratio_vs_raw_exp``): the same statement through
  QuestDB's HTTP ``/exp`` with ``urllib`` + ``pyarrow.csv.read_csv`` (the fastest raw
  client path we found, so the API is also held against it);
- api: ``Reader.ticks`` with the store's default transport (``read_via = "http"``);
- api_pgwire (``api_pgwire_rows_per_s``, ``ratio_pgwire``): the same with
  ``read_via = "pgwire"``;
- projected (``projected_rows_per_s``): ``Reader.ticks(columns=["last_price"])``.

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
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlparse

import anyio
import asyncpg
import duckdb
import pyarrow.csv as pa_csv

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
from ghtrader_core.store.questdb.store import QuestDBSettings, QuestDBStore  # noqa: E402
from ghtrader_core.store.questdb.tick_reads import READ_TICKS, tick_window  # noqa: E402

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


def alternate(
    runs: dict[str, Callable[[], int]], repeat: int
) -> tuple[int, dict[str, float]]:
    """Median seconds of each run over ``repeat`` rounds, the order rotated every round so
    load from other processes hits all alike; every run must read the same rows."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    rows = 0
    for i in range(repeat):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            took, n = timed(runs[name])
            seconds[name].append(took)
            if rows and n != rows:
                raise SystemExit(f"{name} read {n} rows, expected {rows}")
            rows = n
    return rows, {name: statistics.median(s) for name, s in seconds.items()}


def api_run(reader: Reader, days: list[date], **kw: Any) -> Callable[[], int]:
    return lambda: len(reader.ticks(SYMBOL, days[0], days[-1], statuses=ALL_STATUSES, **kw))


def compare(
    reader: Reader,
    raw: Callable[[], int],
    days: list[date],
    repeat: int,
    out: Path,
    more: dict[str, Callable[[], int]] | None = None,
) -> dict[str, Any]:
    """Alternating raw/api (and ``more``) runs over all days, single-day latency, one
    export. ``more`` runs read the same rows; their rates come back as ``<name>_rows_per_s``."""
    rows, median = alternate({"raw": raw, "api": api_run(reader, days), **(more or {})}, repeat)
    day_ms = []
    for _ in range(repeat):
        for day in days:
            seconds, _n = timed(lambda d=day: len(reader.ticks(SYMBOL, d, d,  # type: ignore[misc]
                                                               statuses=ALL_STATUSES)))
            day_ms.append(seconds * 1000)
    summary = reader.export(out, [SYMBOL], days[0], days[-1], statuses=ALL_STATUSES)
    api = rows / median["api"]
    raw_rate = rows / median["raw"]
    result = {
        "days": len(days),
        "rows": rows,
        "api_rows_per_s": round(api),
        "raw_rows_per_s": round(raw_rate),
        "ratio": round(api / raw_rate, 3),
        "day_p95_ms": round(sorted(day_ms)[min(len(day_ms) - 1, int(len(day_ms) * 0.95))], 1),
        "day_median_ms": round(statistics.median(day_ms), 1),
        "export_rows_per_s": round(summary.rows_written / summary.wall_s),
    }
    for name in more or {}:
        result[f"{name}_rows_per_s"] = round(rows / median[name])
    return result


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


def exp_csv(ilp: str, sql: str) -> int:
    """A raw client's read over QuestDB's HTTP /exp: urllib + pyarrow's CSV reader."""
    host, port = re.search(r"addr=([^;]+);", ilp).group(1).rsplit(":", 1)  # type: ignore[union-attr]
    url = f"http://{host}:{port}/exp?" + urlencode({"query": sql})
    with urllib.request.urlopen(url, timeout=120) as response:
        return int(pa_csv.read_csv(response).num_rows)


def questdb_figures(tmp: Path, days: list[date], repeat: int, ilp: str, pg: str) -> dict[str, Any]:
    settings = questdb_settings(ilp, pg)
    fill(QuestDBStore(settings), tmp, days)
    pgwire = replace(settings, ilp=replace(settings.ilp, http_reads=False))
    with Reader.open(QuestDBStore(settings)) as reader, Reader.open(
        QuestDBStore(pgwire)
    ) as over_pg:
        args = tick_window(SYMBOL, days[0], days[-1])

        async def fetch() -> int:
            conn = await asyncpg.connect(pg)
            try:
                return len(await conn.fetch(READ_TICKS.text, *args))
            finally:
                await conn.close()

        more = {
            "raw_exp": lambda: exp_csv(ilp, READ_TICKS.render(args)),
            "api_pgwire": api_run(over_pg, days),
            "projected": api_run(reader, days, columns=["last_price"]),
        }
        transport = reader.aio._sql.transport  # type: ignore[attr-defined]
        result = compare(
            reader, lambda: anyio.run(fetch), days, repeat, tmp / "export-questdb", more
        )
    result["transport"] = transport
    result["ratio_pgwire"] = round(result["api_pgwire_rows_per_s"] / result["raw_rows_per_s"], 3)
    result["ratio_vs_raw_exp"] = round(result["api_rows_per_s"] / result["raw_exp_rows_per_s"], 3)
    return result


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
    if quest is not None and quest["rows"] != result["rows"]:
        raise SystemExit(
            f"QuestDB returned {quest['rows']:,} rows for these days, DuckDB {result['rows']:,}:"
            " the server holds other data for them (use a server without ghtraderd tables)"
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
    if quest is not None:
        print(f"questdb ({quest['rows']:,} rows): api over {quest['transport']}; raw /exp CSV "
              f"{quest['raw_exp_rows_per_s']:,} rows/s (api/raw_exp "
              f"{quest['ratio_vs_raw_exp']:.2f}); api over PGWire "
              f"{quest['api_pgwire_rows_per_s']:,} rows/s (ratio {quest['ratio_pgwire']:.2f}); "
              f"ticks(columns=[last_price]) {quest['projected_rows_per_s']:,} rows/s")


if __name__ == "__main__":
    main()
