"""Coverage latency: ``/coverage`` from the pipeline-kept cache vs asking the store.

Backfills the demo data (3 symbols x 20 days) into a temporary DuckDB store, then starts
``ghtraderd run`` twice on it, with ``daemon.coverage_cache`` on and off, and times N
keep-alive HTTP requests to ``/coverage`` against each. Prints P50/P95/P99 and the ratio.

    .venv/bin/python bench/coverage.py [--requests 2000] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GHTRADERD = [sys.executable, "-m", "daemon.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path, port: int, cache: bool) -> Path:
    demo = (REPO / "config" / "demo.toml").read_text()
    path = tmp / f"cache-{cache}.toml"
    path.write_text(
        demo.replace('path = "var/ghtrader.duckdb"', f'path = "{tmp / "store.duckdb"}"')
        + f'\n[daemon]\nstate_dir = "{tmp}"\ncoverage_cache = {str(cache).lower()}\n'
        + f'\n[metrics]\naddress = "127.0.0.1:{port}"\n'
    )
    return path


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(cfg: Path, port: int, requests: int) -> dict[str, float]:
    env = {**os.environ, "GHTRADERD_LOG__LEVEL": "warning"}
    proc = subprocess.Popen([*GHTRADERD, "run", "-c", str(cfg)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # wait for readiness: the store answered and the cache is seeded
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/readyz")
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("ghtraderd run did not become ready")
            time.sleep(0.05)
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            conn.request("GET", "/coverage")
            body = conn.getresponse().read()
            samples.append(time.perf_counter() - started)
        assert json.loads(body)["symbols"], "coverage must not be empty"
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return {q: percentile(samples, p) * 1000 for q, p in
            (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        print("backfilling the demo data ...", file=sys.stderr)
        subprocess.run([*GHTRADERD, "backfill", "-c", str(write_config(tmp, 0, True))],
                       cwd=REPO, check=True, capture_output=True)
        results: dict[str, dict[str, float]] = {}
        for cache in (False, True):
            port = free_port()
            print(f"measuring coverage_cache = {cache} ...", file=sys.stderr)
            results["cache" if cache else "store"] = measure(
                write_config(tmp, port, cache), port, args.requests)
    out: dict[str, Any] = {
        "requests": args.requests,
        "cache_p50_ms": round(results["cache"]["p50_ms"], 4),
        "cache_p95_ms": round(results["cache"]["p95_ms"], 4),
        "cache_p99_ms": round(results["cache"]["p99_ms"], 4),
        "store_p50_ms": round(results["store"]["p50_ms"], 4),
        "store_p95_ms": round(results["store"]["p95_ms"], 4),
        "p95_speedup": round(results["store"]["p95_ms"] / results["cache"]["p95_ms"], 1),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"/coverage over HTTP keep-alive, {args.requests} requests, demo data")
    print(f"{'':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for name in ("store", "cache"):
        r = results[name]
        print(f"{name:>10}{r['p50_ms']:>10.3f}{r['p95_ms']:>10.3f}{r['p99_ms']:>10.3f}")
    print(f"cache is {out['p95_speedup']}x faster at P95 (target: P95 < 1 ms)")


if __name__ == "__main__":
    main()
