"""``ghtraderd sources check``: the first thing to run with a new account or directory.

It builds the configured source, resolves one main symbol's contract (for TqSdk: log in and
query the main-contract table), fetches one trading day, and says what came back or what
went wrong in one line, with the exit code of the error's class (77: credentials or
permission, 75: network or server, try later; 1: that symbol-day cannot be had).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from typing import Any

from daemon import exitcodes
from daemon.commands.common import add_config_arg, day_arg, load, print_json
from daemon.factory import build_calendar, build_source
from daemon.planner import last_complete_day
from ghtrader_core.calendar import NS_PER_S
from ghtrader_core.errors import FatalError, GhtraderError, RetryableError
from ghtrader_core.sources.hooks import NeedsSchedule
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import DEEP_BOOK, L1_BOOK, DayFrame


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sources", help="check the configured tick source")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="log in, fetch one symbol-day, report what came back or what failed"
    )
    add_config_arg(check)
    check.add_argument("--symbol", help="main symbol (default: the first of ingest.symbols)")
    check.add_argument("--day", type=day_arg, help="trading day (default: the last complete one)")
    check.add_argument("--json", action="store_true", help="print the report as one JSON object")
    check.set_defaults(func=main)


def _levels(day: DayFrame) -> int:
    ticks = day.ticks
    if not len(ticks) or not ticks[L1_BOOK].notna().any().any():
        return 0
    deep = [c for c in DEEP_BOOK if c.startswith("bid_price")]
    return 1 + sum(bool(ticks[c].notna().any()) for c in deep)


def _clock(ns: int) -> str:
    seconds = ns // NS_PER_S + 8 * 3600
    frac = ns % NS_PER_S
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    return text + (f".{frac:09d}".rstrip("0") if frac else "")


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    calendar = build_calendar(cfg)
    symbol = parse_main(args.symbol or cfg.ingest.symbols[0])
    day: date = args.day or cfg.ingest.end or last_complete_day(calendar)
    report: dict[str, Any] = {"source": cfg.source.kind, "symbol": str(symbol), "day": str(day)}
    steps: list[tuple[str, str, float]] = []
    code = exitcodes.OK
    source = None
    try:
        source = build_source(cfg, calendar)
        if isinstance(source, NeedsSchedule):
            started = time.perf_counter()
            schedule = source.fetch_schedule([str(symbol)], day)[str(symbol)]
            source.use_schedule(str(symbol), schedule)
            contract = dict(schedule).get(day, "none")
            steps.append(
                (
                    "login + schedule",
                    f"{symbol} on {day} -> {contract}",
                    time.perf_counter() - started,
                )
            )
            report["contract"] = contract
        started = time.perf_counter()
        fetched = source.fetch_day(symbol, day)
        took = time.perf_counter() - started
        report.update(rows=fetched.rows, contract=fetched.contract, levels=_levels(fetched))
        if fetched.rows:
            first, last = (int(fetched.ticks["datetime"].iloc[i]) for i in (0, -1))
            report.update(first=_clock(first), last=_clock(last))
            what = (
                f"{fetched.rows:,} rows of {fetched.contract}, {report['levels']} book levels, "
                f"{report['first']} .. {report['last']} (Beijing)"
            )
        else:
            what = f"no ticks for {symbol} on {day}: {'; '.join(fetched.notes) or 'empty'}"
            code = exitcodes.DAYS_FAILED
        steps.append(("ticks", what, took))
    except FatalError as exc:
        report["error"], code = str(exc), exitcodes.code_for(exc)
    except RetryableError as exc:
        report["error"], code = str(exc), exitcodes.TEMPFAIL
    except GhtraderError as exc:
        report["error"], code = str(exc), exitcodes.DAYS_FAILED
    finally:
        if source is not None:
            source.close()
    report["ok"] = code == exitcodes.OK
    if args.json:
        print_json(report)
        return code
    print(f"source {cfg.source.kind}: {symbol} on {day}")
    for name, what, seconds in steps:
        print(f"  {name:<17} ok  {what}  ({seconds:.2f}s)")
    if "error" in report:
        print(f"FAILED: {report['error']}", file=sys.stderr)
    elif code == exitcodes.OK:
        print("ok: the source works")
    return code
