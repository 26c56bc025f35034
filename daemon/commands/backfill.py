"""``ghtraderd backfill``: the pipeline in burst mode, ending with a summary."""

from __future__ import annotations

import argparse
import sys
from functools import partial

import anyio
import structlog

from daemon import exitcodes
from daemon.commands.common import add_config_arg, day_arg, load, print_json, run
from daemon.factory import build_calendar, build_validator
from daemon.lifecycle import handle_signals, opened
from daemon.pipeline import Summary, backfill
from daemon.progress import Progress
from ghtrader_core.symbols import parse_main

log = structlog.get_logger("ghtraderd.cli")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backfill", help="download every missing symbol-day, then exit")
    add_config_arg(p)
    p.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="override ingest.symbols")
    p.add_argument("--start", type=day_arg, help="first trading day (YYYY-MM-DD)")
    p.add_argument("--end", type=day_arg, help="last trading day (YYYY-MM-DD)")
    p.add_argument("--force", action="store_true", help="re-download days already done")
    p.add_argument(
        "--replace-source",
        action="store_true",
        help="re-download days the store holds from another source (else: exit 78)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    given = args.symbols or []
    symbols = list(dict.fromkeys(str(parse_main(s)) for s in given)) or None  # repeats: once
    calendar = build_calendar(cfg)

    async def go() -> int:
        burst = Burst()
        summary: Summary | None = None
        async with opened(cfg, calendar) as (store, source), anyio.create_task_group() as tg:
            await tg.start(
                partial(handle_signals, burst, drain_timeout_s=cfg.daemon.drain_timeout_s)
            )
            with burst.scope, Progress() as progress:  # closed: the terminal is given back
                summary = await backfill(
                    cfg,
                    store,
                    source,
                    calendar,
                    symbols=symbols,
                    start=args.start,
                    end=args.end,
                    force=args.force,
                    replace_source=args.replace_source,
                    observer=progress,
                    validator=build_validator(cfg, calendar),
                    stop=burst.stop,
                )
            tg.cancel_scope.cancel()
        if summary is None:
            print("stopped at once: rerun to finish (nothing durable was lost)", file=sys.stderr)
            return exitcodes.INTERRUPTED
        _report(summary, as_json=args.json)
        if summary.interrupted:
            return exitcodes.INTERRUPTED
        return exitcodes.DAYS_FAILED if summary.failed else exitcodes.OK

    return run(go)


class Burst:
    """The daemon in burst mode as the signal loop sees it: drain, or stop at once."""

    def __init__(self) -> None:
        self.stop = anyio.Event()
        self.scope = anyio.CancelScope()

    def begin_drain(self) -> None:
        self.stop.set()

    def force_exit(self) -> None:
        self.scope.cancel()


def _report(summary: Summary, *, as_json: bool) -> None:
    if as_json:
        print_json(summary.as_dict())
        return
    rate = summary.rows / summary.wall_s if summary.wall_s else 0.0
    print(
        f"planned {summary.planned}  downloaded {summary.downloaded}  "
        f"skipped {summary.skipped}  failed {summary.failed}  rows {summary.rows:,}  "
        f"wall {summary.wall_s:.2f}s  ({rate:,.0f} rows/s)"
        + ("  [interrupted: rerun to finish]" if summary.interrupted else "")
    )
