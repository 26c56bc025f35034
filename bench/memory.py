"""Peak memory of a backfill (the daemon's process plus its TqSdk worker processes).

Synthetic source into DuckDB at 10, 40, 160 and 640 symbol-days, each in a fresh process;
then 4 vs 16 L5 days through the real tqsdk client against the local stand-in server
(``bench/tqsdk.py``'s). RSS of the process and all its children is sampled every 20 ms.
``--unbounded`` repeats the largest synthetic run with DuckDB's own defaults (no
``memory_limit``, a thread per core): the growth this bench was written to find.

    .venv/bin/python bench/memory.py [--sizes 10 40 160 640] [--no-tqsdk] [--unbounded]
                                     [--recycle-rss-mb N] [--json]

Targets: growth (largest / smallest peak) <= 1.2; <= 400 MB at 640 synthetic symbol-days.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[1]
# bench/ holds a tqsdk.py: keep the directory off the path the TqSdk workers inherit
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

from daemon.allocator import use_system_allocator_for_arrow  # noqa: E402
from daemon.config import Config  # noqa: E402
from daemon.factory import build_calendar, build_source, build_store  # noqa: E402
from daemon.logs import configure_logging  # noqa: E402
from daemon.pipeline import backfill  # noqa: E402
from ghtrader_core.calendar import TradingCalendar  # noqa: E402
from ghtrader_core.store.duckdb.store import DuckDBStore  # noqa: E402

SYMBOLS = ["KQ.m@SHFE.cu", "KQ.m@DCE.m"]


class PeakRss:
    """Samples the RSS of this process plus its children until stopped."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.02):
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total / 2**20)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def synthetic_config(tmp: Path, symbol_days: int) -> Config:
    days = TradingCalendar().trading_days(
        __import__("datetime").date(2024, 1, 2), __import__("datetime").date(2026, 6, 30)
    )[: symbol_days // len(SYMBOLS)]
    return Config(
        store={"path": tmp / "store.duckdb"},
        source={"synthetic": {"seed": 5}},
        ingest={"symbols": SYMBOLS, "start": days[0], "end": days[-1]},
        download={"concurrency": 4},
        log={"level": "warning"},
    )


def one(kind: str, size: int, unbounded: bool, recycle_rss_mb: int | None) -> dict[str, Any]:
    """One backfill in this (fresh) process; returns its peak RSS."""
    configure_logging("warning", "json")
    use_system_allocator_for_arrow()  # as the daemon does (daemon/cli.py)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        if kind == "synthetic":
            cfg = synthetic_config(tmp, size)
        else:
            from tests.tqsdk_load import DAYS, tq_config

            extra = {} if recycle_rss_mb is None else {"recycle_rss_mb": recycle_rss_mb}
            cfg = tq_config(tmp, DAYS[: size // 2], 2, **extra)

        async def go() -> int:
            calendar = build_calendar(cfg)
            store = DuckDBStore(cfg.store.path) if unbounded else build_store(cfg)
            source = build_source(cfg, calendar)
            await store.open()
            try:
                summary = await backfill(cfg, store, source, calendar)
            finally:
                getattr(source, "close", lambda: None)()
                await store.close()
            assert summary.failed == 0
            return summary.rows

        sampler = PeakRss()
        started = time.perf_counter()
        rows = asyncio.run(go())
        wall = time.perf_counter() - started
        return {"peak_rss_mb": round(sampler.stop()), "rows": rows, "wall_s": round(wall, 1)}


def fresh(kind: str, size: int, unbounded: bool = False, env: dict[str, str] | None = None,
          recycle_rss_mb: int | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", kind, str(size)]
    if recycle_rss_mb is not None:
        cmd += ["--recycle-rss-mb", str(recycle_rss_mb)]
    done = subprocess.run(cmd + (["--unbounded"] if unbounded else []), capture_output=True,
                          text=True, env=env, cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {size}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{kind} {size}: {result}", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 40, 160, 640])
    parser.add_argument("--no-tqsdk", action="store_true")
    parser.add_argument("--unbounded", action="store_true")
    parser.add_argument("--recycle-rss-mb", type=int, default=None,
                        help="source.tqsdk.recycle_rss_mb for the real-client runs")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.unbounded,
                             args.recycle_rss_mb)))
        return
    out: dict[str, Any] = {"cores": os.cpu_count(), "load_before": round(os.getloadavg()[0], 1)}
    synthetic = {str(n): fresh("synthetic", n) for n in args.sizes}
    peaks = [r["peak_rss_mb"] for r in synthetic.values()]
    out["synthetic"] = {"peak_rss_mb": {k: r["peak_rss_mb"] for k, r in synthetic.items()},
                        "growth": round(max(peaks) / min(peaks), 2)}
    if args.unbounded:
        largest = str(max(args.sizes))
        out["synthetic"]["unbounded_duckdb_peak_rss_mb"] = fresh(
            "synthetic", int(largest), unbounded=True)["peak_rss_mb"]
    if not args.no_tqsdk:
        from tests.tqsdk_load import DAYS, StandInProcess

        server = StandInProcess(DAYS[:8], 55_801)
        try:
            env = {**os.environ, **server.env, "TQSDK_USER": "tester",
                   "TQSDK_PASSWORD": "right-password"}
            real = {str(n): fresh("tqsdk", n, env=env, recycle_rss_mb=args.recycle_rss_mb)
                    for n in (4, 16)}
        finally:
            server.stop()
        tq_peaks = [r["peak_rss_mb"] for r in real.values()]
        out["tqsdk"] = {"peak_rss_mb": {k: r["peak_rss_mb"] for k, r in real.items()},
                        "growth": round(max(tq_peaks) / min(tq_peaks), 2)}
    out["load_after"] = round(os.getloadavg()[0], 1)
    if args.json:
        print(json.dumps(out))
        return
    print(f"peak RSS of a backfill, main + workers ({out['cores']} cores, load average "
          f"{out['load_before']} -> {out['load_after']}, shared with other work)")
    print(f"{'source':>10}{'symbol-days':>13}{'peak MB':>9}")
    for kind in ("synthetic", "tqsdk"):
        for n, mb in out.get(kind, {}).get("peak_rss_mb", {}).items():
            print(f"{kind:>10}{n:>13}{mb:>9}")
        if kind in out:
            print(f"{kind:>10}{'growth':>13}{out[kind]['growth']:>8.2f}x")
    if "unbounded_duckdb_peak_rss_mb" in out.get("synthetic", {}):
        print(f"without DuckDB memory_limit/threads, {max(args.sizes)} symbol-days: "
              f"{out['synthetic']['unbounded_duckdb_peak_rss_mb']} MB")
    print("targets: growth <= 1.2; <= 400 MB at 640 synthetic symbol-days")


if __name__ == "__main__":
    main()
