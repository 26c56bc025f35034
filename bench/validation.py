"""Validation benchmark: accuracy on injected faults, incremental re-validation, inline cost.

Accuracy: on the synthetic source, every fault kind is injected on its own into days of
three symbols (an L5 exchange with a night session to 01:00, an L1 exchange, and one with
no night session); each injected fault must be found by its check (recall), and the check
must flag nothing but the injected rows, on those days and on the same days left clean
(precision). Clean days must get no warning or error at all.

Speed, over ``--days`` stored days of one symbol in a temporary DuckDB store: re-validating
everything (``--full``, the baseline: what the predecessor did on every run) against an
incremental run with nothing changed and one with one new, unvalidated day; plus the
share of ingestion wall time spent in inline validation during the backfill that stored
the days.

    .venv/bin/python bench/validation.py [--days 30] [--accuracy-days 40] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import anyio

from daemon.config import Config, load_config
from daemon.downloader import Validator
from daemon.factory import build_calendar, build_source, build_store, build_validator
from daemon.logs import configure_logging
from daemon.pipeline import backfill
from daemon.revalidate import revalidate
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.records import DayValidation, Severity
from ghtrader_core.sources.synthetic.source import FAULT_KINDS, SyntheticConfig, simulate_day
from ghtrader_core.store.base import Store, ValidationWrite
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import DayFrame
from ghtrader_core.validation import FAULT_CHECKS, Thresholds, validate_day

ACCURACY_SYMBOLS = ("KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF")
SPEED_SYMBOL = "KQ.m@SHFE.cu"
REPEATS = 5
FIRST_DAY = date(2025, 6, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="stored days for the speed part")
    parser.add_argument("--accuracy-days", type=int, default=40, help="days per symbol")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    configure_logging("error", "json")
    calendar = TradingCalendar()
    speed = anyio.run(measure_speed, args.days)  # first, in a fresh process: fair timings
    accuracy = measure_accuracy(calendar, args.accuracy_days)
    result = {**accuracy, **speed}
    if args.json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        print_tables(result)
    return 0


# -- accuracy ---------------------------------------------------------------------------
def measure_accuracy(calendar: TradingCalendar, days_per_symbol: int) -> dict[str, Any]:
    days = calendar.trading_days(FIRST_DAY, date(2026, 12, 31))[:days_per_symbol]
    th = Thresholds()
    found: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    rows_found: Counter[str] = Counter()
    rows_injected: Counter[str] = Counter()
    true_flags: Counter[str] = Counter()
    all_flags: Counter[str] = Counter()
    collateral: Counter[str] = Counter()
    clean_findings: Counter[str] = Counter()
    for name in ACCURACY_SYMBOLS:
        symbol = parse_main(name)
        for day in days:
            clean, _ = simulate_day(SyntheticConfig(seed=7), calendar, symbol, day)
            verdict = _validate(clean.ticks, name, day, calendar, th)
            for f in verdict.findings:
                if f.severity is not Severity.INFO:
                    clean_findings[f.check] += 1
            for kind in FAULT_KINDS:  # a check's flags on clean days are false positives
                all_flags[kind] += _flagged(kind, verdict)
            for kind in FAULT_KINDS:
                cfg = SyntheticConfig(seed=7, fault_rates={kind: 1.0})
                frame, faults = simulate_day(cfg, calendar, symbol, day)
                if not faults:
                    continue
                verdict = _validate(frame.ticks, name, day, calendar, th)
                hits, rows, n_rows, true = _match(kind, verdict, faults[0].rows_ns)
                injected[kind] += 1
                found[kind] += hits
                rows_found[kind] += rows
                rows_injected[kind] += n_rows
                true_flags[kind] += true
                all_flags[kind] += _flagged(kind, verdict)
                mine = FAULT_CHECKS[kind][0]
                for f in verdict.findings:
                    if f.severity is not Severity.INFO and f.check != mine:
                        collateral[f"{kind}->{f.check}"] += 1
    return {
        "recall": {k: found[k] / injected[k] for k in FAULT_KINDS if injected[k]},
        "precision": {
            k: true_flags[k] / all_flags[k] if all_flags[k] else 1.0
            for k in FAULT_KINDS
            if injected[k]
        },
        "row_recall": {k: rows_found[k] / rows_injected[k] for k in FAULT_KINDS if injected[k]},
        "injected": dict(injected),
        "clean_days": len(days) * len(ACCURACY_SYMBOLS),
        "clean_day_findings": dict(clean_findings),
        "collateral_findings": dict(collateral),
    }


def _validate(
    frame: Any, name: str, day: date, calendar: TradingCalendar, th: Thresholds
) -> DayValidation:
    return validate_day(frame, symbol=name, trading_day=day, calendar=calendar, thresholds=th)


def _flagged(kind: str, verdict: DayValidation) -> int:
    """How many rows (gaps, for a gap) the kind's check flagged on this day."""
    if kind == "gap":
        return len(verdict.gaps)
    check, column = FAULT_CHECKS[kind]
    return sum(f.count for f in verdict.findings if f.check == check and f.field == column)


def _match(kind: str, verdict: DayValidation, truth: Sequence[int]) -> tuple[int, int, int, int]:
    """(fault found 0/1, touched rows flagged, touched rows, true flags) for one fault."""
    if kind == "gap":
        start, end = truth
        true = sum(1 for g in verdict.gaps if g.start_ns == start or g.end_ns == end)
        return int(true > 0), int(true > 0), 1, true
    check, column = FAULT_CHECKS[kind]
    flagged: set[int] = set()
    for f in verdict.findings:
        if f.check == check and f.field == column:
            flagged.update(f.examples_ns)  # max_examples (10) >= touched rows (5): all kept
    rows = len(flagged & set(truth))
    return int(rows > 0), rows, len(set(truth)), rows


# -- speed ------------------------------------------------------------------------------
async def measure_speed(n_days: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _config(Path(tmp))
        calendar = build_calendar(cfg)
        days = calendar.trading_days(FIRST_DAY, date(2026, 12, 31))[: n_days + 1]
        source = build_source(cfg, calendar)
        store = build_store(cfg)
        await store.open()
        try:
            validator = CpuTimed(build_validator(cfg, calendar))
            ingest = await backfill(
                cfg, store, source, calendar, start=days[0], end=days[-2], validator=validator
            )
            th = cfg.validation.thresholds()

            async def timed(*, full: bool, end: date) -> tuple[float, int]:
                gc.collect()  # every timed run starts without garbage of the previous one
                started = time.perf_counter()
                summary = await revalidate(
                    store,
                    calendar,
                    th,
                    [SPEED_SYMBOL],
                    days[0],
                    end,
                    full=full,
                    concurrency=cfg.validation.concurrency,
                    batch_days=cfg.validation.write_batch_days,
                )
                return time.perf_counter() - started, summary.validated

            full = [await timed(full=True, end=days[-2]) for _ in range(3)]
            unchanged = [await timed(full=False, end=days[-1]) for _ in range(REPEATS)]
            await backfill(
                cfg, store, source, calendar, start=days[-1], end=days[-1], validator=None
            )  # the new day arrives unvalidated
            one = [await timed(full=False, end=days[-1])]
            for _ in range(REPEATS - 1):  # make it due again: its verdict is on other data
                await _invalidate(store, days[-1], th, calendar)
                one.append(await timed(full=False, end=days[-1]))
        finally:
            await store.close()
    full_s = statistics.median(t for t, _ in full)
    unchanged_s = statistics.median(t for t, _ in unchanged)
    one_s = statistics.median(t for t, _ in one)
    return {
        "stored_days": n_days,
        "rows": ingest.rows,
        "full_s": round(full_s, 4),
        "full_days": max(n for _, n in full),
        "unchanged_s": round(unchanged_s, 5),
        "unchanged_days": max(n for _, n in unchanged),
        "one_new_day_s": round(one_s, 4),
        "one_new_day_days": max(n for _, n in one),
        "unchanged_speedup": round(full_s / unchanged_s, 1),
        "one_new_day_speedup": round(full_s / one_s, 1),
        "ingest_wall_s": ingest.wall_s,
        "inline_validate_cpu_s": round(validator.cpu_s, 4),
        "inline_share": round(validator.cpu_s / ingest.wall_s, 4),
        "inline_validate_thread_wall_s": ingest.validate_s,
        "inline_share_thread_wall": round(ingest.validate_s / ingest.wall_s, 4),
    }


class CpuTimed:
    """The inline validator, counting the CPU time its worker threads spend in it.

    CPU time, not each call's wall time: with ``concurrency`` days in flight on fewer
    cores, a call's wall time also counts the time its thread waited for the others.
    """

    def __init__(self, validator: Validator | None) -> None:
        assert validator is not None
        self.validator = validator
        self.cpu_s = 0.0
        self.lock = threading.Lock()

    def __call__(self, day: DayFrame) -> DayValidation:
        started = time.thread_time()
        verdict = self.validator(day)
        with self.lock:
            self.cpu_s += time.thread_time() - started
        return verdict


async def _invalidate(store: Store, day: date, th: Thresholds, cal: TradingCalendar) -> None:
    """Record the day's verdict against other data, so the next incremental run redoes it."""
    ticks = await store.read_day(SPEED_SYMBOL, day)
    verdict = validate_day(ticks, symbol=SPEED_SYMBOL, trading_day=day, calendar=cal, thresholds=th)
    await store.write_validations([ValidationWrite(SPEED_SYMBOL, day, "stale", verdict)])


def _config(tmp: Path) -> Config:
    path = tmp / "bench.toml"
    path.write_text(
        f"""
[store]
path = "{tmp / "bench.duckdb"}"
[source.synthetic]
seed = 5
[ingest]
symbols = ["{SPEED_SYMBOL}"]
start = {FIRST_DAY.isoformat()}
[download]
concurrency = 4
"""
    )
    return load_config(path)


def print_tables(r: dict[str, Any]) -> None:
    print(
        f"accuracy: {sum(r['injected'].values())} injected faults on "
        f"{r['clean_days']} days x {len(r['injected'])} kinds; {r['clean_days']} clean days"
    )
    print(f"{'fault':22} {'injected':>8} {'recall':>8} {'rows':>8} {'precision':>9}")
    for kind in r["recall"]:
        print(
            f"{kind:22} {r['injected'][kind]:8d} {r['recall'][kind]:8.2%} "
            f"{r['row_recall'][kind]:8.2%} {r['precision'][kind]:9.2%}"
        )
    print(
        f"warnings/errors on clean days: {sum(r['clean_day_findings'].values())} "
        f"{r['clean_day_findings'] or ''}"
    )
    if r["collateral_findings"]:
        print(f"other checks firing on fault days: {r['collateral_findings']}")
    print()
    print(f"re-validation over {r['stored_days']} stored days ({r['rows']:,} rows)")
    print(f"{'run':28} {'days':>5} {'seconds':>9} {'speedup':>8}")
    print(f"{'full (baseline)':28} {r['full_days']:5d} {r['full_s']:9.4f} {1.0:7.1f}x")
    print(
        f"{'incremental, unchanged':28} {r['unchanged_days']:5d} {r['unchanged_s']:9.4f} "
        f"{r['unchanged_speedup']:7.1f}x"
    )
    print(
        f"{'incremental, one new day':28} {r['one_new_day_days']:5d} "
        f"{r['one_new_day_s']:9.4f} {r['one_new_day_speedup']:7.1f}x"
    )
    print()
    print(
        f"inline validation: {r['inline_validate_cpu_s']:.3f} CPU-s in "
        f"{r['ingest_wall_s']:.3f}s of ingestion wall time = {r['inline_share']:.2%} "
        f"(summed wall time of the calls in busy threads: "
        f"{r['inline_share_thread_wall']:.2%})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
