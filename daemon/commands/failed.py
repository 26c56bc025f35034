"""``ghtraderd failed``: the dead letters — symbol-days that could not be ingested, why,
after how many attempts — as the store records them. The next run retries them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from daemon import exitcodes
from daemon.commands.common import add_config_arg, load, opened_store, print_json, print_table, run
from ghtrader_core.records import FailedDay


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("failed", help="list the symbol-days that failed (the dead letters)")
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="print a JSON list of objects")
    p.set_defaults(func=main)


def as_dicts(failed: Sequence[FailedDay]) -> list[dict[str, Any]]:
    return [
        {
            "symbol": f.symbol,
            "trading_day": f.trading_day.isoformat(),
            "permanent": f.permanent,
            "attempts": f.attempts,
            "failed_at": f.failed_at.isoformat() if f.failed_at else None,
            "reason": f.reason,
        }
        for f in failed
    ]


def print_failed(failed: Sequence[FailedDay]) -> None:
    if not failed:
        print("no failed days")
        return
    print_table(
        ["symbol", "trading_day", "kind", "attempts", "reason"],
        [
            [
                f.symbol,
                f.trading_day,
                "permanent" if f.permanent else "transient",
                f.attempts,
                f.reason,
            ]
            for f in failed
        ],
    )


def main(args: argparse.Namespace) -> int:
    cfg = load(args)

    async def go() -> int:
        async with opened_store(cfg, read_only=True) as store:
            failed = await store.failed_days()
        if args.json:
            print_json(as_dicts(failed))
        else:
            print_failed(failed)
        return exitcodes.OK

    return run(go)
