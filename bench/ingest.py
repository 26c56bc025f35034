"""Ingestion benchmark: the same backfill at concurrency 1 and at concurrency N, one run.

Both runs use the real pipeline (synthetic source with a simulated per-day download
latency, embedded DuckDB store in a temporary directory). Prints rows/s, wall time, the
speedup of N over 1 and the share of wall time the sink spent writing.

The headline figure uses a simulated download latency of 1.0 s per symbol-day: a real
TqSdk day of L5 ticks arrives in pages of 2,000 ticks over a websocket, dozens of round
trips, so seconds rather than a tenth of one. ``--sweep`` repeats the comparison at
0.1, 0.25 and 0.5 s, each also at concurrency 8, to show where parallel downloads stop
paying: below ~0.25 s per day the embedded DuckDB sink (about 1.3 M rows/s on 2 cores)
becomes the bottleneck; at 0.1 s/day the sink's own ceiling is printed next to the speedup.

    .venv/bin/python bench/ingest.py [--days 20] [--latency 1.0] [--concurrency 4]
                                     [--sweep] [--vs-main N] [--json]

``--vs-main N`` compares the shipped memory settings with main's before issue 11's byte
budget (``MAIN_SETTINGS``: no ``sink.queue_mb`` bound, DuckDB 256 MB and two threads) at
the given concurrency, alternating N runs of each in this process, and reports the median
rows/s of each and their ratio (``throughput_vs_main``; ~1.0 = no cost).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.allocator import use_system_allocator_for_arrow
from daemon.config import Config
from daemon.factory import build_calendar, build_source, build_store
from daemon.logs import configure_logging
from daemon.pipeline import Summary, backfill

SYMBOLS = ["KQ.m@SHFE.cu", "KQ.m@DCE.m"]
# main's memory settings before the byte budget (the sink bounded by queue_rows only)
MAIN_SETTINGS: dict[str, dict[str, Any]] = {
    "store": {"duckdb_memory_limit_mb": 256, "duckdb_threads": 2},
    "sink": {"queue_mb": 1_000_000},
}


def make_config(
    store: Path,
    *,
    days_end: str,
    latency_s: float,
    concurrency: int,
    settings: dict[str, dict[str, Any]] | None = None,
) -> Config:
    extra = settings or {}
    return Config(
        store={"path": store, **extra.get("store", {})},
        source={"synthetic": {"seed": 3, "latency_s": latency_s}},
        ingest={"symbols": SYMBOLS, "start": "2025-11-03", "end": days_end},
        download={"concurrency": concurrency},
        sink={"flush_rows": 250_000, "flush_interval_s": 1.0, **extra.get("sink", {})},
        log={"level": "warning"},
    )


async def one_run(cfg: Config) -> Summary:
    calendar = build_calendar(cfg)
    store = build_store(cfg)
    await store.open()
    try:
        return await backfill(cfg, store, build_source(cfg, calendar), calendar)
    finally:
        await store.close()


def last_day(days: int) -> str:
    from datetime import date

    from ghtrader_core.calendar import TradingCalendar

    trading = TradingCalendar().trading_days(date(2025, 11, 3), date(2026, 6, 30))[:days]
    return trading[-1].isoformat()


def vs_main(days: int, latency_s: float, concurrency: int, repeats: int) -> dict[str, Any]:
    """The shipped settings against main's, alternating, in this one process."""
    rates: dict[str, list[float]] = {"shipped": [], "main": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            for name, settings in (("shipped", None), ("main", MAIN_SETTINGS)):
                cfg = make_config(Path(tmp) / f"{name}{i}.duckdb", days_end=last_day(days),
                                  latency_s=latency_s, concurrency=concurrency,
                                  settings=settings)
                print(f"{name} settings, run {i + 1} ...", file=sys.stderr)
                s = anyio.run(one_run, cfg, backend_options={"use_uvloop": True})
                rates[name].append(s.rows / s.wall_s)
    shipped, main_ = (sorted(rates[k])[len(rates[k]) // 2] for k in ("shipped", "main"))
    return {"latency_s": latency_s, "concurrency": concurrency, "repeats": repeats,
            "rows_per_s_shipped": round(shipped), "rows_per_s_main_settings": round(main_),
            "throughput_vs_main": round(shipped / main_, 2)}


def measure(days: int, latency_s: float, concurrency: int) -> dict[str, Any]:
    end = last_day(days)
    results: dict[int, Summary] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, concurrency):
            cfg = make_config(
                Path(tmp) / f"c{n}.duckdb", days_end=end, latency_s=latency_s, concurrency=n
            )
            print(f"running concurrency {n} ...", file=sys.stderr)
            results[n] = anyio.run(one_run, cfg, backend_options={"use_uvloop": True})
    seq, par = results[1], results[concurrency]
    assert seq.rows == par.rows, "both runs must ingest the same rows"
    return {
        "symbols": len(SYMBOLS),
        "days": days,
        "latency_s": latency_s,
        "concurrency": concurrency,
        "rows": par.rows,
        "wall_s_sequential": seq.wall_s,
        "wall_s_parallel": par.wall_s,
        "rows_per_s_sequential": round(seq.rows / seq.wall_s),
        "rows_per_s": round(par.rows / par.wall_s),
        "speedup": round(seq.wall_s / par.wall_s, 2),
        "sink_share": round(par.sink_s / par.wall_s, 3),
        "sink_share_sequential": round(seq.sink_s / seq.wall_s, 3),
        # the sink's own ceiling: the speedup if downloads took no time at all and only the
        # sink's writing were left (sequential wall / the parallel run's sink seconds)
        "sink_rows_per_s": round(par.rows / par.sink_s) if par.sink_s else None,
        "sink_ceiling": round(seq.wall_s / par.sink_s, 2) if par.sink_s else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1.0, help="simulated s per day (>= 0.1)")
    parser.add_argument("--sweep", action="store_true", help="also at 0.1, 0.25 and 0.5 s/day")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--vs-main", type=int, default=0, metavar="N",
                        help="only compare the shipped memory settings with main's, N runs each")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging("warning", "json")
    use_system_allocator_for_arrow()  # as the daemon does (daemon/cli.py)
    if args.vs_main:
        cmp = vs_main(args.days, args.latency, args.concurrency, args.vs_main)
        if args.json:
            print(json.dumps(cmp))
            return
        print(f"{len(SYMBOLS)} symbols x {args.days} days, latency {cmp['latency_s']} s/day, "
              f"concurrency {cmp['concurrency']}, median of {cmp['repeats']} alternating runs")
        print(f"{'settings':>10}{'rows/s':>12}")
        print(f"{'shipped':>10}{cmp['rows_per_s_shipped']:>12,}")
        print(f"{'main':>10}{cmp['rows_per_s_main_settings']:>12,}")
        print(f"shipped / main: {cmp['throughput_vs_main']:.2f}x (target >= 0.9)")
        return
    out = measure(args.days, args.latency, args.concurrency)
    if args.sweep:
        out["sweep"] = [
            {
                k: r[k]
                for k in (
                    "latency_s",
                    "wall_s_sequential",
                    "wall_s_parallel",
                    "speedup",
                    "sink_share",
                )
            }
            for r in (measure(args.days, lat, args.concurrency) for lat in (0.1, 0.25, 0.5))
        ]
        for row in [*out["sweep"], out]:  # the same latencies at concurrency 8
            eight = measure(args.days, row["latency_s"], 8)
            row["speedup_8"] = eight["speedup"]
            row["sink_ceiling_8"] = eight["sink_ceiling"]
    if args.json:
        print(json.dumps(out))
        return
    print(
        f"{out['symbols']} symbols x {out['days']} days, {out['rows']:,} rows, "
        f"simulated latency {out['latency_s']} s/day"
    )
    print(f"{'':>14}{'wall s':>10}{'rows/s':>12}{'sink share':>12}")
    print(
        f"{'concurrency 1':>14}{out['wall_s_sequential']:>10.2f}"
        f"{out['rows_per_s_sequential']:>12,}{out['sink_share_sequential']:>12.1%}"
    )
    print(
        f"{'concurrency ' + str(out['concurrency']):>14}{out['wall_s_parallel']:>10.2f}"
        f"{out['rows_per_s']:>12,}{out['sink_share']:>12.1%}"
    )
    print(f"speedup {out['speedup']:.2f}x (target >= 3.6 at concurrency 4)")
    if "sweep" in out:
        print(f"\n{'latency s/day':>14}{'wall 1':>9}{'wall N':>9}{'speedup':>9}{'sink share':>12}"
              f"{'speedup 8':>11}{'sink ceiling 8':>16}")
        keys = [*out["sweep"][0]]
        for r in sorted([*out["sweep"], {k: out[k] for k in keys}], key=lambda r: r["latency_s"]):
            ceiling = f"{r['sink_ceiling_8']:.2f}x" if r["latency_s"] == 0.1 else ""
            print(
                f"{r['latency_s']:>14}{r['wall_s_sequential']:>9.2f}{r['wall_s_parallel']:>9.2f}"
                f"{r['speedup']:>8.2f}x{r['sink_share']:>12.1%}{r['speedup_8']:>10.2f}x"
                f"{ceiling:>16}"
            )
        print("sink ceiling: sequential wall / the sink's own seconds at concurrency 8 - the "
              "most any concurrency can give while the sink writes at its own pace")


if __name__ == "__main__":
    main()
