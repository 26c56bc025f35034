"""Smoke test of bench/reload.py with tiny sizes: it runs and reports its keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "reload.py"


def test_reload_bench_smoke() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--reloads", "3", "--days", "4", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    result = json.loads(out.stdout)
    assert result["rows_lost"] == 0 and result["rows_duplicated"] == 0
    assert result["exit_code"] == 0
    assert 0 < result["reload_p50_s"] <= result["reload_max_s"] < 5
