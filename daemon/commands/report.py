"""``ghtraderd report``: what validation says of the stored days, per symbol and day range:
status counts, the worst days and the largest gaps. Reads summaries, never ticks."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from daemon import exitcodes
from daemon.commands.common import load, opened_store, print_json, print_table, run
from daemon.commands.failed import as_dicts
from daemon.commands.validate import add_range_args, resolve_range
from daemon.factory import build_calendar
from ghtrader_core.calendar import NS_PER_S, local_date_of_ns
from ghtrader_core.store.base import GapRow, ReportingStore, ValidationRow

STATUSES = ("ok", "warn", "fail", "unvalidated")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="validation per symbol: statuses, worst days, largest gaps")
    add_range_args(p)
    p.add_argument("--top", type=int, default=5, metavar="N", help="worst days and gaps shown")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cfg = load(args)
    calendar = build_calendar(cfg)
    symbols, start, end = resolve_range(args, cfg, calendar)

    async def go() -> int:
        async with opened_store(cfg, read_only=True) as store:
            report = await read_report(store, symbols, start, end, top=args.top)
        if args.json:
            print_json(report)
        else:
            _print(report)
        return exitcodes.OK

    return run(go)


async def read_report(
    store: ReportingStore, symbols: Sequence[str], start: date, end: date, *, top: int
) -> dict[str, Any]:
    """The report of ``symbols`` in ``start``..``end``: what the reporting role answers."""
    rows = await store.validation_rows(symbols, start, end)
    gaps = await store.largest_gaps(symbols, start, end, top)
    dead = [
        f
        for f in await store.failed_days()
        if f.symbol in symbols and start <= f.trading_day <= end
    ]
    report = build_report(symbols, start, end, rows, gaps, top=top)
    report["failed_days"] = as_dicts(dead)
    return report


def build_report(
    symbols: Sequence[str],
    start: date,
    end: date,
    rows: Sequence[ValidationRow],
    gaps: Sequence[GapRow],
    *,
    top: int,
) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for symbol in symbols:
        mine = [r for r in rows if r.symbol == symbol]
        counts = Counter(r.status for r in mine)
        scored = [r for r in mine if r.score is not None]
        worst = sorted(scored, key=lambda r: (r.score, r.trading_day))[:top]
        out.append(
            {
                "symbol": symbol,
                "first_day": mine[0].trading_day.isoformat() if mine else None,
                "last_day": mine[-1].trading_day.isoformat() if mine else None,
                "days": len(mine),
                "status_counts": {s: counts.get(s, 0) for s in STATUSES},
                "mean_score": (
                    round(sum(r.score or 0.0 for r in scored) / len(scored), 4) if scored else None
                ),
                "worst_days": [
                    {
                        "trading_day": r.trading_day.isoformat(),
                        "status": r.status,
                        "score": r.score,
                        "errors": r.errors,
                        "warnings": r.warnings,
                        "checks": r.checks.split(",") if r.checks else [],
                        "largest_gap_s": r.largest_gap_s,
                    }
                    for r in worst
                    if r.status != "ok"
                ],
                "largest_gaps": [
                    {
                        "trading_day": g.trading_day.isoformat(),
                        "session": g.session,
                        "start_ns": g.start_ns,
                        "end_ns": g.end_ns,
                        "start": _beijing(g.start_ns),
                        "end": _beijing(g.end_ns),
                        "length_s": round(g.length_s, 3),
                    }
                    for g in gaps
                    if g.symbol == symbol
                ],
            }
        )
    return {"start": start.isoformat(), "end": end.isoformat(), "symbols": out}


def _beijing(ns: int) -> str:
    """A timestamp as Beijing wall time, the way the exchanges state their sessions."""
    seconds = (ns // NS_PER_S + 8 * 3600) % 86400
    millis = ns // 1_000_000 % 1000
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{millis:03d}"
    return f"{local_date_of_ns(ns).isoformat()} {clock}"


def _print(report: dict[str, Any]) -> None:
    print(f"validation report {report['start']} .. {report['end']}\n")
    _print_statuses(report)
    failed = report.get("failed_days", [])
    print(f"\nfailed days (not ingested; the next run retries them): {len(failed)}")
    for f in failed:
        print(f"  {f['symbol']}  {f['trading_day']}  {f['reason']}")


def _print_statuses(report: dict[str, Any]) -> None:
    print_table(
        ["symbol", "days", *STATUSES, "mean_score"],
        [
            [
                s["symbol"],
                s["days"],
                *(s["status_counts"][k] for k in STATUSES),
                "-" if s["mean_score"] is None else f"{s['mean_score']:.3f}",
            ]
            for s in report["symbols"]
        ],
    )
    worst = [(s["symbol"], d) for s in report["symbols"] for d in s["worst_days"]]
    if worst:
        print("\nworst days")
        print_table(
            ["symbol", "trading_day", "status", "score", "checks"],
            [
                [sym, d["trading_day"], d["status"], f"{d['score']:.3f}", ",".join(d["checks"])]
                for sym, d in worst
            ],
        )
    gaps = [(s["symbol"], g) for s in report["symbols"] for g in s["largest_gaps"]]
    if gaps:
        print("\nlargest gaps (Beijing time)")
        print_table(
            ["symbol", "trading_day", "session", "start", "end", "length_s"],
            [
                [sym, g["trading_day"], g["session"], g["start"], g["end"], f"{g['length_s']:.1f}"]
                for sym, g in gaps
            ],
        )
