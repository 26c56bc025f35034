"""The sink's row budget: the limiter alone, then the real pipeline with a blocked store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pandas as pd
import pytest

from daemon.config import Config
from daemon.pipeline import LiveControls
from daemon.row_budget import RowBudget
from ghtrader_core.sources.synthetic.backend import SyntheticConfigModel
from ghtrader_core.sources.synthetic.source import SyntheticConfig, simulate_day
from ghtrader_core.store.base import DayWrite
from ghtrader_core.symbols import MainSymbol, parse_main
from ghtrader_core.ticks import DayFrame
from tests.pipeline_helpers import config_obj, small_config
from tests.test_pipeline import CAL, CountingSource, FlakyStore, expected_rows, run, source_for
from tests.typing_helpers import backend_table


async def _settle() -> None:
    """Let every ready task run (no clock involved)."""
    for _ in range(10):
        await anyio.lowlevel.checkpoint()


async def test_acquire_within_the_limit_does_not_wait_and_over_it_waits_for_a_release() -> None:
    budget = RowBudget(10)
    await budget.acquire("first", 6)
    got: list[str] = []

    async def take(key: str, n: int) -> None:
        await budget.acquire(key, n)
        got.append(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "second", 5)
        await _settle()
        assert (got, budget.waiting, budget.used) == ([], 1, 6)
        budget.release("first")
        await _settle()
        assert (got, budget.waiting, budget.used) == (["second"], 0, 5)


async def test_a_request_larger_than_the_budget_passes_alone() -> None:
    budget = RowBudget(10)
    await budget.acquire("large", 25)  # nothing held: it goes through, never a deadlock
    assert budget.used == 25
    got: list[str] = []

    async def take(key: str, n: int) -> None:
        await budget.acquire(key, n)
        got.append(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "small", 1)
        await _settle()
        assert got == []  # while the large one is held nothing else gets in
        budget.release("large")
    assert got == ["small"]


async def test_waiters_are_served_in_order_so_a_large_one_is_not_starved() -> None:
    budget = RowBudget(10)
    await budget.acquire("held", 4)
    order: list[str] = []

    async def take(key: str, n: int) -> None:
        await budget.acquire(key, n)
        order.append(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "large", 30)
        await _settle()
        tg.start_soon(take, "small", 1)  # would fit now, but the large one came first
        await _settle()
        assert order == []
        budget.release("held")
        await _settle()
        assert order == ["large"]
        budget.release("large")
    assert order == ["large", "small"]


async def test_a_cancelled_waiter_leaves_the_queue_and_lets_the_next_in() -> None:
    budget = RowBudget(10)
    await budget.acquire("held", 8)
    got: list[str] = []
    big = anyio.CancelScope()

    async def take(key: str, n: int) -> None:
        await budget.acquire(key, n)
        got.append(key)

    async def take_big() -> None:
        with big:
            await take("large", 50)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take_big)
        await _settle()
        tg.start_soon(take, "small", 2)
        await _settle()
        assert (got, budget.waiting) == ([], 2)
        big.cancel()
        await _settle()
        assert (got, budget.waiting, budget.used, budget.holders) == (["small"], 0, 10, 2)


def test_a_budget_needs_a_row() -> None:
    with pytest.raises(ValueError):
        RowBudget(0)
    with pytest.raises(ValueError):
        RowBudget(10, 0)


async def test_a_key_holds_once_and_a_release_without_a_hold_gives_nothing() -> None:
    budget = RowBudget(10)
    await budget.acquire("day", 3)
    with pytest.raises(RuntimeError):
        await budget.acquire("day", 3)
    budget.release("other")
    assert (budget.used, budget.holders) == (3, 1)


async def test_bytes_bound_as_well_as_rows_whichever_is_reached_first() -> None:
    budget = RowBudget(1_000, limit_bytes=100)
    await budget.acquire("heavy", 10, 80)  # few rows, most of the bytes
    got: list[str] = []

    async def take(key: str, rows: int, nbytes: int) -> None:
        await budget.acquire(key, rows, nbytes)
        got.append(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "light", 10, 30)  # rows fit, bytes do not
        await _settle()
        assert (got, budget.waiting, budget.used, budget.used_bytes) == ([], 1, 10, 80)
        budget.release("heavy")
        await _settle()
        assert (got, budget.used, budget.used_bytes) == (["light"], 10, 30)
    budget.release("light")
    await budget.acquire("huge", 0, 500)  # larger than all the bytes: waits for nothing held
    assert (budget.used, budget.used_bytes) == (0, 500)


async def test_a_day_gives_back_what_it_took_even_if_its_frame_grew_meanwhile() -> None:
    """The hang of session 3: bytes recomputed at release leaked, and once the leak alone
    filled the budget no day could enter, not even alone. Now a hold is given back exactly."""
    frame = pd.DataFrame({"price": np.zeros(1_000)})
    budget = RowBudget(1_000_000, limit_bytes=3 * int(frame.memory_usage(index=False).sum()))
    for round_ in range(10):
        await budget.acquire(frame, len(frame), int(frame.memory_usage(index=False).sum()))
        frame[f"extra{round_}"] = 0.0  # the frame changes while held
        budget.release(frame)
        assert (budget.used, budget.used_bytes, budget.holders) == (0, 0, 0)
    with anyio.fail_after(1):
        await budget.acquire("next", 1, 1)


class HeldRowsSource(CountingSource):
    """Counts rows fetched; with the store's durable rows, the rows held at any moment."""

    def __init__(self, inner: Any, store: DurableCountingStore) -> None:
        super().__init__(inner)
        self.store = store
        self.fetched_rows = 0
        self.max_held = 0

    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        day = super().fetch_day(symbol, trading_day)
        with self.lock:
            self.fetched_rows += day.rows
            self.max_held = max(self.max_held, self.fetched_rows - self.store.durable_rows)
        return day


class DurableCountingStore(FlakyStore):
    def __init__(self, path: Path, **kw: Any) -> None:
        super().__init__(path, **kw)
        self.durable_rows = 0

    async def write_days(self, days: Sequence[DayWrite]) -> None:
        await super().write_days(days)
        self.durable_rows += sum(d.day.rows for d in days)


def day_rows(cfg: Config) -> list[int]:
    days = CAL.trading_days(cfg.ingest.start, cfg.ingest.end or cfg.ingest.start)
    s = SyntheticConfig(seed=backend_table(cfg.source, "synthetic", SyntheticConfigModel).seed)
    return [
        simulate_day(s, CAL, parse_main(sym), d)[0].rows for sym in cfg.ingest.symbols for d in days
    ]


@dataclass
class BlockedRun:
    """A run whose store blocks its first write, stopped where the downloads wait."""

    store: DurableCountingStore
    src: HeldRowsSource
    controls: LiveControls
    result: list[Any]

    @property
    def budget(self) -> RowBudget:
        assert self.controls.sink is not None
        return self.controls.sink.budget


@asynccontextmanager
async def blocked_store(cfg: Config) -> AsyncIterator[BlockedRun]:
    """Yield once the sink flushed what it had (a day could not take its share of the
    budget), that write is blocked, the next day waits for the budget and no download
    runs; then let the store go and wait for the run to end."""
    store = DurableCountingStore(cfg.store.path)
    store.gate = anyio.Event()
    blocked = BlockedRun(store, HeldRowsSource(source_for(cfg), store), LiveControls(), [])

    async def go() -> None:
        blocked.result.append(await run(cfg, store, blocked.src, controls=blocked.controls))

    async with anyio.create_task_group() as tg:
        tg.start_soon(go)
        with anyio.fail_after(30):
            await store.write_started.wait()
            sink = blocked.controls.sink
            while sink is None or not sink.budget.waiting or blocked.src.active:
                await anyio.sleep(0.01)
                sink = blocked.controls.sink
        yield blocked
        store.gate.set()


def blocked_config(tmp_path: Path, sink: str) -> tuple[Config, list[int]]:
    """Ten planned days, one download at a time, batches bounded only by ``sink``."""
    sizes = day_rows(config_obj(small_config(tmp_path, concurrency=1, end="2025-11-07")))
    extra = f"queue_days = 64\nflush_days = 64\nflush_rows = 10000000\n{sink}"
    return config_obj(small_config(tmp_path, concurrency=1, end="2025-11-07", extra=extra)), sizes


async def test_a_blocked_store_holds_no_more_rows_than_the_budget_plus_one_day(
    tmp_path: Path,
) -> None:
    rows = 2 * max(day_rows(config_obj(small_config(tmp_path, end="2025-11-07")))) + 1
    cfg, sizes = blocked_config(tmp_path, f"queue_rows = {rows}")  # two or three days
    async with blocked_store(cfg) as b:
        held = b.src.fetched_rows - b.store.durable_rows
        assert b.src.fetches < len(sizes)  # the budget, not the plan, stopped the downloads
        assert b.budget.used <= rows
        assert held <= rows + max(sizes)
    assert b.src.max_held <= rows + max(sizes)
    assert (b.result[0].downloaded, b.result[0].failed) == (len(sizes), 0)
    assert b.result[0].rows == expected_rows(cfg) == b.store.durable_rows


async def test_a_blocked_store_holds_no_more_bytes_than_queue_mb_plus_one_day(
    tmp_path: Path,
) -> None:
    """The byte budget alone (rows unbounded) stops the downloads while the store blocks."""
    row_bytes = 8 * 29  # the numeric columns alone: a lower bound of a row's weight
    largest = max(day_rows(config_obj(small_config(tmp_path, end="2025-11-07"))))
    mb = -(-2 * largest * row_bytes // 2**20)  # about two days, well under the ten planned
    cfg, sizes = blocked_config(tmp_path, f"queue_rows = 100000000\nqueue_mb = {mb}")
    async with blocked_store(cfg) as b:
        budget = b.budget  # the run's sink leaves the controls when the run ends
        assert b.src.fetches < len(sizes)  # the bytes, not the rows or the plan, stopped them
        assert budget.used < 100_000_000 and 0 < budget.used_bytes <= mb * 2**20
    assert (b.result[0].downloaded, b.result[0].failed) == (len(sizes), 0)
    assert b.result[0].rows == expected_rows(cfg) == b.store.durable_rows
    assert (budget.used, budget.used_bytes, budget.holders) == (0, 0, 0)  # all given back


async def test_days_larger_than_the_budget_go_through_one_by_one_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    cfg = config_obj(small_config(tmp_path, concurrency=1, extra="queue_rows = 1"))
    store = DurableCountingStore(cfg.store.path, down_for=2)
    src = HeldRowsSource(source_for(cfg), store)
    summary = await run(cfg, store, src)
    assert (summary.downloaded, summary.failed) == (6, 0)
    assert summary.rows == expected_rows(cfg) == store.durable_rows
    # every write carried exactly one day: the budget let one day in at a time
    assert store.write_calls == 6 + 2
    assert src.max_held <= 2 * max(day_rows(cfg))  # one stored + one fetched at most


# DuckDB's row group (DEFAULT_ROW_GROUP_SIZE). A transaction inserting less than one is
# appended through the WAL instead of written as whole row groups: ~35 % slower per row
# (batches of 2 synthetic days 534-564k rows/s, 3 days 760k, 5 days 814-844k; README).
DUCKDB_ROW_GROUP = 122_880
L5_DAY_ROWS = 55_801  # a full SHFE L5 day with a night session (TQSDK-FACTS.md)


def test_the_default_byte_budget_lets_a_batch_of_l5_days_fill_a_duckdb_row_group() -> None:
    """A batch is cut when the next day does not fit ``queue_mb``: the default must hold
    enough whole L5 days for one row group, or every write takes the slow path."""
    from daemon.config import SinkConfig
    from daemon.sink import _nbytes
    from ghtrader_core.ticks import SOURCE_COLUMNS, normalize

    raw = pd.DataFrame({c: np.arange(L5_DAY_ROWS, dtype="float64") for c in SOURCE_COLUMNS})
    ticks, _ = normalize(raw, symbol="KQ.m@SHFE.cu", contract="SHFE.cu2409",
                         trading_day=date(2024, 6, 3))
    day = DayWrite(DayFrame("KQ.m@SHFE.cu", date(2024, 6, 3), "SHFE.cu2409", ticks), "fp", None)
    sink = SinkConfig()
    days_per_batch = min(sink.queue_mb * 2**20 // _nbytes(day), sink.queue_rows // L5_DAY_ROWS)
    assert days_per_batch * L5_DAY_ROWS >= DUCKDB_ROW_GROUP
