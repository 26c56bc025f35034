"""Planning from compact arrays gives the same plan as the one-object-per-day way it
replaced, on DuckDB always and on QuestDB when a test server is configured."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from daemon.planner import Job, Plan, plan
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.records import Checkpoint
from ghtrader_core.store.base import Store
from ghtrader_core.store.duckdb.store import DuckDBStore

CAL = TradingCalendar()
SYMBOLS = ["KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF"]
START, END = date(2025, 9, 1), date(2025, 11, 28)
NOW = datetime(2025, 12, 1, 8)


def checkpoint(symbol: str, day: date) -> Checkpoint:
    return Checkpoint(symbol, day, "X", 10, "fp", 0, "unvalidated", NOW)


def some_checkpoints() -> list[Checkpoint]:
    rng = random.Random(7)
    days = CAL.trading_days(START - timedelta(days=20), END + timedelta(days=20))
    cps = [checkpoint(s, d) for s in SYMBOLS for d in days if rng.random() < 0.6]
    cps.append(checkpoint("KQ.m@SHFE.zn", date(2025, 10, 9)))  # a symbol not asked for
    cps.append(checkpoint(SYMBOLS[0], date(2025, 10, 4)))  # a Saturday: not a trading day
    return cps


async def reference_plan(store: Store, symbols: Sequence[str], start: date, end: date) -> Plan:
    """The planner as it was: one Checkpoint object per stored day, a set of pairs."""
    days = CAL.trading_days(start, end)
    wanted = [Job(d, s) for d in days for s in symbols]
    done = set(await store.checkpoints(symbols, start, end))
    jobs = [j for j in wanted if (j.symbol_name, j.trading_day) not in done]
    return Plan(jobs=jobs, skipped=len(wanted) - len(jobs), start=start, end=end)


async def check_same_plans(store: Store) -> None:
    await store.write_checkpoints(some_checkpoints(), [])
    for symbols, start, end in [
        (SYMBOLS, START, END),
        (SYMBOLS[:1], date(2025, 10, 1), date(2025, 10, 31)),
        (["KQ.m@INE.sc", *SYMBOLS], START, END),  # one symbol without any checkpoint
    ]:
        new = await plan(store, CAL, symbols, start, end)
        old = await reference_plan(store, symbols, start, end)
        assert new.jobs == old.jobs  # the same days, in the same (day, symbol) order
        assert new.skipped == old.skipped > 0
    forced = await plan(store, CAL, SYMBOLS, START, END, force=True)
    assert forced.skipped == 0 and len(forced.jobs) == len(CAL.trading_days(START, END)) * 3
    twice = await plan(store, CAL, [*SYMBOLS, SYMBOLS[0]], START, END)
    assert twice.jobs == (await plan(store, CAL, SYMBOLS, START, END)).jobs  # named twice


async def test_duckdb_plans_as_before(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    await store.open()
    try:
        pairs = await store.checkpointed_days(SYMBOLS, START, END)
        assert len(pairs) == 0
        await check_same_plans(store)
        pairs = await store.checkpointed_days(SYMBOLS[1:2], START, END)
        assert set(pairs.symbol.tolist()) == {0} and pairs.day.dtype.name == "int32"
    finally:
        await store.close()


async def test_questdb_plans_as_before(questdb_store: Store) -> None:
    await check_same_plans(questdb_store)
