"""``ghtraderd sessions VARIETY DAY``: the sessions of one trading day and why.

Prints the sessions (Beijing time, with the call auction before an open) that the
calendar gives ``VARIETY`` on trading day ``DAY``, and the history rows they come from,
with each row's source and confidence, so that a user can see which hours a day was
validated against. With ``-c FILE`` the config's ``[[calendar.*]]`` entries apply too.
A bad variety, a malformed date or a day that is not a trading day: one line, exit 2.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from daemon import exitcodes
from daemon.commands.common import load, print_json, print_table
from daemon.factory import build_calendar
from daemon.planner import PlanError
from ghtrader_core.calendar import NS_PER_S, DaySchedule, Regime, TradingCalendar
from ghtrader_core.symbols import SymbolError, Variety, parse_main, variety_of


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sessions",
        help="the sessions of a variety on a trading day (Beijing time) and the rows behind them",
    )
    p.add_argument("variety", metavar="VARIETY", help="EX.code (DCE.m) or a main symbol")
    p.add_argument("day", metavar="DAY", help="trading day, YYYY-MM-DD")
    p.add_argument("-c", "--config", help="TOML config whose [[calendar.*]] entries apply")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def parse_variety(text: str) -> Variety:
    text = text.strip()
    if text.startswith("KQ."):
        return parse_main(text).variety
    exchange, dot, code = text.partition(".")
    if not dot:
        raise SymbolError(f"malformed variety {text!r}: expected EXCHANGE.code, e.g. DCE.m")
    return variety_of(exchange, code)


def _clock(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns // NS_PER_S + 8 * 3600))


def _row(r: Regime) -> dict[str, Any]:
    return {
        "rule": r.describe(),
        "ref": r.ref,
        "kind": r.kind,
        "confidence": str(r.confidence),
        "source": r.source,
        "notes": r.notes,
    }


def describe(schedule: DaySchedule) -> dict[str, Any]:
    """The schedule as plain data (the ``--json`` output)."""
    v = schedule.variety
    return {
        "variety": f"{v.exchange}.{v.code}",
        "trading_day": schedule.trading_day.isoformat(),
        "timezone": "Asia/Shanghai",
        "sessions": [
            {
                "name": s.name,
                "start": _clock(s.start_ns),
                "end": _clock(s.end_ns),
                "auction_start": _clock(s.auction_ns) if s.auction_ns is not None else None,
            }
            for s in schedule.sessions
        ],
        "night_held": schedule.night_held,
        "night_firm": schedule.night_firm,
        "day_firm": schedule.day_firm,
        "night_rules": [_row(r) for r in schedule.night],
        "day_rules": [_row(r) for r in schedule.day],
    }


def main(args: argparse.Namespace) -> int:
    variety = parse_variety(args.variety)
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        raise PlanError(f"not a date (YYYY-MM-DD): {args.day!r}") from None
    calendar = build_calendar(load(args)) if args.config else TradingCalendar()
    if not calendar.is_trading_day(day):
        raise PlanError(f"{day} is not a trading day: no sessions")
    info = describe(calendar.schedule(variety, day))
    if args.json:
        print_json(info)
        return exitcodes.OK
    print(f"{info['variety']} on trading day {day} (Beijing time)")
    rows = [
        [s["name"], s["start"], s["end"], (s["auction_start"] or "-")[11:16] or "-"]
        for s in info["sessions"]
    ]
    print_table(["session", "start", "end", "auction from"], rows)
    for part in ("night", "day"):
        firm = info[f"{part}_firm"]
        weak = "" if firm else "  (low confidence: boundary findings capped at warn)"
        print(f"\n{part}:{weak}")
        for r in info[f"{part}_rules"]:
            print(f"  {r['rule']}  <{r['ref']}>")
            if r["source"]:
                print(f"    source: {r['source']}")
            if r["notes"]:
                print(f"    notes: {r['notes']}")
    return exitcodes.OK
