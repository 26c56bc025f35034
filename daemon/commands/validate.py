"""``ghtraderd validate``: re-validate stored days that are new, changed or judged by an
older validator (``--full``: all), reading ticks back from the store.

Exit code 1 (``exitcodes.DAYS_FAILED``) when any day re-validated by this run has status
``fail``; the predecessor exited 0 on an error verdict, which hid failures from scripts.
"""

from __future__ import annotations

import argparse
from datetime import date

from daemon import exitcodes
from daemon.commands.common import (
    add_config_arg,
    day_arg,
    load,
    opened_store,
    print_json,
    print_table,
    run,
)
from daemon.config import Config
from daemon.factory import build_calendar
from daemon.planner import PlanError, last_complete_day
from daemon.revalidate import RevalidationSummary, revalidate
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.symbols import parse_main


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate",
        help="re-validate stored days that are new, changed or checked by an older validator",
    )
    add_range_args(p)
    p.add_argument("--full", action="store_true", help="re-validate every stored day in range")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=main)


def add_range_args(p: argparse.ArgumentParser) -> None:
    add_config_arg(p)
    p.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="override ingest.symbols")
    p.add_argument("--start", type=day_arg, help="first trading day (default ingest.start)")
    p.add_argument("--end", type=day_arg, help="last trading day (default ingest.end)")


def resolve_range(
    args: argparse.Namespace, cfg: Config, calendar: TradingCalendar
) -> tuple[list[str], date, date]:
    """Symbols and day range from the command line, defaulting to the config's."""
    given = args.symbols or []
    symbols = list(dict.fromkeys(str(parse_main(s)) for s in given)) or list(cfg.ingest.symbols)
    start = args.start or cfg.ingest.start
    end = args.end or cfg.ingest.end or last_complete_day(calendar)
    if end < start:
        raise PlanError(f"empty date range: start {start} is after end {end}")
    return symbols, start, end


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    calendar = build_calendar(cfg)
    symbols, start, end = resolve_range(args, cfg, calendar)

    async def go() -> int:
        async with opened_store(cfg, read_only=True) as store:
            summary = await revalidate(
                store,
                calendar,
                cfg.validation.thresholds(),
                symbols,
                start,
                end,
                full=args.full,
                concurrency=cfg.validation.concurrency,
                batch_days=cfg.validation.write_batch_days,
            )
        _report(summary, as_json=args.json)
        return exitcodes.DAYS_FAILED if summary.fail else exitcodes.OK

    return run(go)


def _report(summary: RevalidationSummary, *, as_json: bool) -> None:
    if as_json:
        print_json(summary.as_dict())
        return
    if not summary.due:
        print(f"nothing to re-validate: every stored day is up to date ({summary.wall_s:.3f}s)")
        return
    print(
        f"re-validated {summary.validated} days ({summary.rows:,} rows): ok {summary.ok}  "
        f"warn {summary.warn}  fail {summary.fail}  wall {summary.wall_s:.2f}s"
    )
    if summary.failed_days:
        print()
        print_table(
            ["symbol", "trading_day", "failed checks"],
            [[d["symbol"], d["trading_day"], ", ".join(d["checks"])] for d in summary.failed_days],
        )
