"""The benches without a test of their own run end to end at tiny sizes and print the
keys the README quotes (a bench that rots is found by CI, not by the next measurement)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def run_json(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, *args, "--json"], capture_output=True, text=True,
                          cwd=REPO, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_memory_bench_reports_a_peak_per_size_and_the_growth() -> None:
    out = run_json("bench/memory.py", "--sizes", "2", "4", "--no-tqsdk")
    peaks = out["synthetic"]["peak_rss_mb"]
    assert set(peaks) == {"2", "4"} and all(mb > 50 for mb in peaks.values())
    assert out["synthetic"]["growth"] == round(max(peaks.values()) / min(peaks.values()), 2)
    assert out["cores"] >= 1 and "tqsdk" not in out


def test_read_bench_compares_the_api_with_the_raw_driver() -> None:
    # DuckDB only, even when a QuestDB test of this session has set the server variables
    out = run_json("bench/read.py", "--days", "1", "--repeat", "1", "--questdb-ilp", "")
    assert out["days"] == 1 and out["rows"] > 0 and out["questdb"] is None
    assert abs(out["ratio"] - out["api_rows_per_s"] / out["raw_rows_per_s"]) < 0.01
    assert out["export_rows_per_s"] > 0
