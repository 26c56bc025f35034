"""``ghtraderd backfill``: the pipeline in burst mode, ending with a summary."""

from __future__ import annotations

import argparse
import signal
import sys

import anyio
import structlog

from daemon import exitcodes
from daemon.commands.common import add_config_arg, day_arg, load, opened_store, print_json, run
from daemon.factory import build_calendar, build_source, build_validator
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
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    symbols = [str(parse_main(s)) for s in args.symbols] if args.symbols else None
    calendar = build_calendar(cfg)
    source = build_source(cfg, calendar)
    forced = False

    async def go() -> int:
        nonlocal forced
        stop = anyio.Event()
        summary: Summary | None = None
        async with opened_store(cfg) as store, anyio.create_task_group() as tg:

            async def on_signals() -> None:
                nonlocal forced
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        if not stop.is_set():
                            log.warning(
                                "stop_requested",
                                signal=signal.Signals(signum).name,
                                hint="again to stop at once",
                            )
                            stop.set()
                        else:
                            forced = True
                            tg.cancel_scope.cancel()

            tg.start_soon(on_signals)
            summary = await backfill(
                cfg,
                store,
                source,
                calendar,
                symbols=symbols,
                start=args.start,
                end=args.end,
                force=args.force,
                observer=Progress(),
                validator=build_validator(cfg, calendar),
                stop=stop,
            )
            tg.cancel_scope.cancel()
        source.close()
        if summary is None:
            print("stopped at once: rerun to finish (nothing durable was lost)", file=sys.stderr)
            return exitcodes.INTERRUPTED
        _report(summary, as_json=args.json)
        if summary.interrupted:
            return exitcodes.INTERRUPTED
        return exitcodes.DAYS_FAILED if summary.failed else exitcodes.OK

    return run(go)


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
