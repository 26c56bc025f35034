"""Reload under load: time from SIGHUP to READY=1, and rows lost across many reloads.

A real ``ghtraderd run`` backfills a synthetic range while the bench sends SIGHUP after
SIGHUP, alternating two config files that differ in live keys (concurrency, batch sizes,
log level) and in a re-plan key (a no-night period outside the range, so each reload
drains the running pass and plans a new one). Each reload is timed from the signal to the
READY=1 datagram on the notify socket. Afterwards every symbol-day is compared with an
uninterrupted ``ghtraderd backfill`` of the same range (the baseline): ``rows_lost`` counts
rows missing from the daemon's store, ``rows_duplicated`` rows too many. The same reload is
also timed with the daemon idle, as the baseline for the latency.

    .venv/bin/python bench/reload.py [--reloads 100] [--days 60] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

BIN = str(Path(sys.executable).with_name("ghtraderd"))
SYMBOLS = ["KQ.m@SHFE.cu", "KQ.m@DCE.m"]
START = date(2025, 6, 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(path: Path, store: Path, state: Path, port: int, end: date, variant: int) -> None:
    concurrency, flush_days, level = ((4, 4, "info"), (1, 1, "warning"))[variant]
    no_night_year = 2001 + variant
    path.write_text(
        f"""
[store]
path = "{store}"
[source.synthetic]
seed = 11
latency_s = 0.02
[ingest]
symbols = {json.dumps(SYMBOLS)}
start = {START.isoformat()}
end = {end.isoformat()}
[download]
concurrency = {concurrency}
[sink]
flush_days = {flush_days}
flush_interval_s = 0.2
[calendar]
no_night = [{{ first = {no_night_year}-02-01, last = {no_night_year}-02-10 }}]
[daemon]
state_dir = "{state}"
[metrics]
address = "127.0.0.1:{port}"
[log]
level = "{level}"
format = "json"
""",
        encoding="utf-8",
    )


class Notify:
    def __init__(self) -> None:
        self.name = f"@ghtraderd-bench-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + self.name[1:].encode())

    def wait(self, key: str, timeout_s: float = 60.0) -> float:
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                msg = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            if key in msg.split("\n"):
                return time.perf_counter()
        raise TimeoutError(f"no {key} within {timeout_s}s")


def _days(store: Path) -> dict[tuple[str, str], int]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT symbol, trading_day, count(*) FROM ticks GROUP BY ALL")
        return {(s, str(d)): int(n) for s, d, n in rows.fetchall()}
    finally:
        con.close()


def _status(port: int) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as r:
        return dict(json.loads(r.read()))


def _reload_times(proc: subprocess.Popen[bytes], notify: Notify, n: int, swap: Any) -> list[float]:
    times = []
    for i in range(n):
        swap(i)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGHUP)
        notify.wait("RELOADING=1")
        times.append(notify.wait("READY=1") - sent)
    return times


def run(reloads: int, days: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ghtraderd-bench-") as tmp_name:
        tmp = Path(tmp_name)
        end = START + timedelta(days=int(days * 7 / 5))
        # the baseline: one uninterrupted backfill
        ref_cfg, ref_store = tmp / "ref.toml", tmp / "ref.duckdb"
        _config(ref_cfg, ref_store, tmp, _free_port(), end, 0)
        started = time.perf_counter()
        subprocess.run([BIN, "backfill", "-c", str(ref_cfg)], check=True, capture_output=True)
        baseline_wall_s = time.perf_counter() - started
        reference = _days(ref_store)

        port = _free_port()
        cfg, store = tmp / "run.toml", tmp / "run.duckdb"
        _config(cfg, store, tmp, port, end, 0)
        notify = Notify()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GHTRADERD_")}
        env["NOTIFY_SOCKET"] = notify.name
        with (tmp / "daemon.log").open("wb") as log:
            proc = subprocess.Popen(
                [BIN, "run", "-c", str(cfg)], stdout=log, stderr=subprocess.STDOUT, env=env
            )
        try:
            notify.wait("READY=1")
            started = time.perf_counter()
            swap = lambda i: _config(cfg, store, tmp, port, end, (i + 1) % 2)  # noqa: E731
            loaded = _reload_times(proc, notify, reloads, swap)
            in_flight_at_end = _status(port)["phase"] == "ingesting"
            deadline = time.monotonic() + 600
            while _status(port)["phase"] != "idle":
                if time.monotonic() > deadline:
                    raise TimeoutError("the backfill did not finish")
                notify.sock.settimeout(0.2)
                with contextlib.suppress(TimeoutError):
                    notify.sock.recv(4096)
            run_wall_s = time.perf_counter() - started
            idle = _reload_times(proc, notify, max(5, reloads // 10), swap)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            notify.sock.close()
        got = _days(store)
    lost = sum(max(0, n - got.get(k, 0)) for k, n in reference.items())
    duplicated = sum(max(0, n - reference.get(k, 0)) for k, n in got.items())
    return {
        "reloads": reloads,
        "symbol_days": len(reference),
        "rows_expected": sum(reference.values()),
        "rows_lost": lost,
        "rows_duplicated": duplicated,
        "reload_p50_s": round(statistics.median(loaded), 4),
        "reload_max_s": round(max(loaded), 4),
        "reload_idle_p50_s": round(statistics.median(idle), 4),
        "still_ingesting_after_reloads": in_flight_at_end,
        "baseline_backfill_wall_s": round(baseline_wall_s, 3),
        "run_with_reloads_wall_s": round(run_wall_s, 3),
        "exit_code": code,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reloads", type=int, default=100)
    ap.add_argument("--days", type=int, default=60, help="trading days per symbol")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.reloads, args.days)
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['reloads']} reloads under load, {r['symbol_days']} symbol-days, "
          f"{r['rows_expected']:,} rows; exit code {r['exit_code']}")
    rows = [
        ("reload p50 (s), vs idle reload", r["reload_p50_s"], r["reload_idle_p50_s"]),
        ("reload max (s), vs idle reload", r["reload_max_s"], r["reload_idle_p50_s"]),
        ("wall with reloads (s), vs backfill", r["run_with_reloads_wall_s"],
         r["baseline_backfill_wall_s"]),
    ]
    print(f"{'figure':38} {'value':>10} {'baseline':>10} {'ratio':>7}")
    for name, value, base in rows:
        print(f"{name:38} {value:>10.4f} {base:>10.4f} {value / base if base else 0:>7.2f}")
    print(f"{'rows lost / duplicated':38} {r['rows_lost']:>10} {r['rows_duplicated']:>10}")


if __name__ == "__main__":
    main()
