"""bench/plan.py runs on both stores and its two planners agree (tiny sizes; figures are
not judged). It had rotted unnoticed once: a new checkpoint column broke its seeding."""

from __future__ import annotations

from datetime import date
from types import ModuleType

from tests.bench_helpers import load_bench
from tests.questdb_server import Endpoint


def load() -> ModuleType:
    return load_bench("plan")


def check(figures: dict[str, dict[str, float]], symbols: int, days: int) -> None:
    half, full = figures["half"], figures["all"]
    assert half["symbol_days"] == full["symbol_days"] == symbols * days
    # "half" holds every other day from the first: the odd ones are missing
    assert half["to_fetch"] == symbols * (days // 2) and full["to_fetch"] == 0
    assert half["plan_s"] > 0 and full["before_s"] > 0


async def test_plan_bench_on_duckdb() -> None:
    bench = load()
    args = bench.argparse.Namespace(symbols=3, years=1, repeat=1, questdb=False)
    out = await bench.run(args)
    days = len(bench.CAL.trading_days(date(2025, 1, 1), date(2025, 12, 31)))
    check(out["duckdb"], 3, days)
    assert "questdb" not in out


async def test_plan_bench_on_questdb(questdb: Endpoint) -> None:
    bench = load()
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    out = await bench.questdb_figures(bench.symbols(2), start, end, 1)
    check(out, 2, len(bench.CAL.trading_days(start, end)))
