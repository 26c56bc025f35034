"""bench/ingest.py runs and reports what it promises (tiny sizes; figures are not judged)."""

from __future__ import annotations

from types import ModuleType

from tests.bench_helpers import load_bench


def load() -> ModuleType:
    return load_bench("ingest")


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
