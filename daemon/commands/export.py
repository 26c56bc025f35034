"""``ghtraderd export``: stored days as a Hive-partitioned Parquet/CSV dataset, incrementally."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from daemon import exitcodes
from daemon.commands.common import add_config_arg, day_arg, load, opened_store, print_json, run
from daemon.config import Config
from daemon.planner import PlanError
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, beijing_today
from ghtrader_core.read import ALL_STATUSES, DEFAULT_STATUSES, AsyncReader
from ghtrader_core.read.export import FORMATS, export_dataset
from ghtrader_core.symbols import parse_main


def _statuses(text: str) -> tuple[str, ...]:
    found = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in found if s not in ALL_STATUSES]
    if bad or not found:
        raise argparse.ArgumentTypeError(
            f"statuses are a comma-separated list of {','.join(ALL_STATUSES)}, not {text!r}"
        )
    return found


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help="write stored days as Parquet/CSV (incremental)")
    add_config_arg(p)
    p.add_argument("--out", required=True, type=Path, help="output directory (a dataset)")
    p.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="default: ingest.symbols")
    p.add_argument("--start", type=day_arg, help="first trading day (default: ingest.start)")
    p.add_argument(
        "--end", type=day_arg, help="last trading day (default: ingest.end or today in Beijing)"
    )
    p.add_argument("--format", choices=sorted(FORMATS), default="parquet", dest="fmt")
    p.add_argument(
        "--statuses",
        type=_statuses,
        default=DEFAULT_STATUSES,
        help=f"validation statuses to export (default: {','.join(DEFAULT_STATUSES)})",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=main)


def export_range(
    args: argparse.Namespace, cfg: Config, clock: Clock = SYSTEM_CLOCK
) -> tuple[date, date]:
    """``--start``..``--end``, else the config's range; with no end at all, through the
    clock's date in Beijing (no stored day is later: stores hold finished days only)."""
    start: date = args.start or cfg.ingest.start
    end: date = args.end or cfg.ingest.end or beijing_today(clock)
    if start > end:
        raise PlanError(f"--start {start} is after --end {end}")
    return start, end


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    symbols = [str(parse_main(s)) for s in args.symbols] if args.symbols else cfg.ingest.symbols
    start, end = export_range(args, cfg)

    async def go() -> int:
        async with opened_store(cfg) as store:
            summary = await export_dataset(
                AsyncReader(store),
                args.out,
                symbols,
                start,
                end,
                fmt=args.fmt,
                statuses=args.statuses,
            )
        if args.json:
            print_json(summary.as_dict())
        else:
            rate = summary.rows_written / summary.wall_s if summary.wall_s else 0.0
            print(
                f"export {summary.out} ({summary.fmt}): {summary.days_written} days written "
                f"({summary.rows_written:,} rows, {rate:,.0f} rows/s), "
                f"{summary.days_unchanged} unchanged, {summary.days_removed} removed, "
                f"{len(summary.excluded)} excluded by status in {summary.wall_s:.2f}s"
            )
            for e in summary.excluded[:20]:
                print(f"  excluded {e.symbol} {e.trading_day}: {e.reason}")
        return exitcodes.OK

    return run(go)
