"""``ghtraderd coverage``: per symbol first/last day, days present and missing, rows."""

from __future__ import annotations

import argparse

from daemon import exitcodes
from daemon.commands.common import add_config_arg, load, opened_store, print_json, print_table, run
from daemon.coverage import summarize
from daemon.factory import build_calendar
from daemon.planner import last_complete_day


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("coverage", help="what is stored, per symbol, against the calendar")
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="print a JSON list of objects")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    calendar = build_calendar(cfg)

    async def go() -> int:
        async with opened_store(cfg, read_only=True) as store:
            rows = await store.coverage()
        end = cfg.ingest.end or last_complete_day(calendar)
        table = summarize(rows, calendar, cfg.ingest.symbols, cfg.ingest.start, end)
        if args.json:
            print_json([t.as_dict() for t in table])
        else:
            print_table(
                ["symbol", "first_day", "last_day", "days_present", "days_missing", "rows"],
                [
                    [
                        t.symbol,
                        t.first_day or "-",
                        t.last_day or "-",
                        t.days_present,
                        t.days_missing,
                        f"{t.rows:,}",
                    ]
                    for t in table
                ],
            )
        return exitcodes.OK

    return run(go)
