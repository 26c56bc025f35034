"""bench/ingest.py runs and reports what it promises (tiny sizes; figures are not judged)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ingest.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_ingest"] = module
    spec.loader.exec_module(module)
    return module


def test_ingest_bench_compares_the_same_rows_at_two_concurrencies() -> None:
    out = load().measure(days=2, latency_s=0.05, concurrency=2)
    assert {"speedup", "sink_share", "rows_per_s"} <= set(out)
    assert out["rows"] > 0 and out["speedup"] > 0 and 0 <= out["sink_share"] <= 1
    assert out["days"] == 2 and out["concurrency"] == 2


def test_vs_main_compares_the_shipped_memory_settings_with_mains() -> None:
    bench = load()
    assert bench.MAIN_SETTINGS["store"]["duckdb_memory_limit_mb"] == 256
    out = bench.vs_main(days=2, latency_s=0.0, concurrency=2, repeats=1)
    assert out["rows_per_s_shipped"] > 0 and out["rows_per_s_main_settings"] > 0
    ratio = out["rows_per_s_shipped"] / out["rows_per_s_main_settings"]
    assert abs(out["throughput_vs_main"] - ratio) < 0.011
