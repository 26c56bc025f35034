"""The read API on the embedded store: ticks, days, bars, streaming, roll segments, statuses.

The store is filled by the real pipeline (synthetic exchange, inline validation) over a
range in which SHFE.cu rolls (2025-11-17: the rule schedule moves to the next listed
month after the 15th); every expectation is computed from the store's own rows
(``read_day``), never written down by hand.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import anyio
import numpy as np
import pandas as pd
import pytest
from structlog.testing import capture_logs

from daemon.factory import build_validator
from daemon.pipeline import backfill
from daemon.reader import open_async_reader, open_reader
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.read import AsyncReader, ExcludedDay, Reader
from ghtrader_core.records import DayStatus, DayValidation, Finding, Severity
from ghtrader_core.store.base import Store, ValidationWrite
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.symbols import SymbolError
from ghtrader_core.ticks import SOURCE_COLUMNS, TICK_COLUMNS
from tests.pipeline_helpers import config_obj, small_config, synthetic

CAL = TradingCalendar()
CU, IF = "KQ.m@SHFE.cu", "KQ.m@CFFEX.IF"
START, END = date(2025, 11, 12), date(2025, 11, 18)
ROLL = date(2025, 11, 17)  # first day of SHFE.cu2602 as main contract
ALL = ("ok", "warn", "fail", "unvalidated")


def fill(tmp: Path, start: str = "2025-11-12", end: str = "2025-11-18") -> Path:
    """Backfill CU and IF with inline validation into ``tmp/store.duckdb``; its config."""
    path = small_config(tmp, symbols=(CU, IF), start=start, end=end)
    cfg = config_obj(path)

    async def go() -> None:
        store = DuckDBStore(cfg.store.path)
        await store.open()
        try:
            summary = await backfill(
                cfg, store, synthetic(CAL, seed=11), CAL, validator=build_validator(cfg, CAL)
            )
            assert summary.failed == 0 and summary.downloaded == 10
        finally:
            await store.close()

    anyio.run(go)
    return path


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill(tmp_path_factory.mktemp("read"))


@pytest.fixture
async def store(filled: Path, tmp_path: Path) -> AsyncIterator[DuckDBStore]:
    """A private copy of the filled store (tests may change verdicts)."""
    shutil.copy(filled.parent / "store.duckdb", tmp_path / "store.duckdb")
    s = DuckDBStore(tmp_path / "store.duckdb")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def stored(store: DuckDBStore, symbol: str, days: list[date]) -> pd.DataFrame:
    frames = [await store.read_day(symbol, d) for d in days]
    return pd.concat(frames, ignore_index=True)


async def fail_day(store: Store, symbol: str, day: date) -> None:
    """Record a re-validation of ``day`` that failed (what ``ghtraderd validate`` writes)."""
    checkpoint = (await store.checkpoints([symbol], day, day))[(symbol, day)]
    verdict = DayValidation(
        DayStatus.FAIL,
        0.5,
        checkpoint.validator_version,
        findings=(Finding("crossed_book", Severity.ERROR, 3),),
    )
    await store.write_validations(
        [ValidationWrite(symbol, day, checkpoint.fingerprint, verdict)]
    )


async def test_ticks_are_the_stored_rows_in_the_tick_schema(store: DuckDBStore) -> None:
    reader = AsyncReader(store)
    frame = await reader.ticks(CU, START, END, statuses=ALL)
    days = CAL.trading_days(START, END)
    expected = await stored(store, CU, days)
    assert list(frame.columns) == [*TICK_COLUMNS, "segment"]
    pd.testing.assert_frame_equal(frame[TICK_COLUMNS], expected)
    assert frame["datetime"].is_monotonic_increasing
    assert frame["id"].dtype == np.int64 and frame["segment"].dtype == np.int64
    assert frame.attrs["excluded"] == []
    assert await reader.ticks(CU, "2025-11-13", "2025-11-13", statuses=ALL) is not None


async def test_columns_subset_keeps_time_and_keys(store: DuckDBStore) -> None:
    frame = await AsyncReader(store).ticks(CU, START, START, columns=["last_price"], statuses=ALL)
    assert list(frame.columns) == ["datetime", "last_price", "symbol", "contract",
                                   "trading_day", "segment"]
    full = await store.read_day(CU, START)
    assert frame["last_price"].tolist() == full["last_price"].tolist()
    with pytest.raises(ValueError, match="unknown tick columns"):
        await AsyncReader(store).ticks(CU, START, END, columns=["lastprice"])


async def test_segment_changes_exactly_on_the_roll_day(store: DuckDBStore) -> None:
    frame = await AsyncReader(store).ticks(CU, START, END, statuses=ALL)
    per_day = frame.groupby("trading_day").agg(
        contract=("contract", "unique"), segment=("segment", "unique")
    )
    assert all(len(c) == 1 for c in per_day["contract"])
    assert all(len(s) == 1 for s in per_day["segment"])
    contracts = [c[0] for c in per_day["contract"]]
    segments = [s[0] for s in per_day["segment"]]
    changes = [d for i, d in enumerate(per_day.index) if i and segments[i] != segments[i - 1]]
    rolls = [d for i, d in enumerate(per_day.index) if i and contracts[i] != contracts[i - 1]]
    assert changes == rolls == [ROLL]
    assert segments[0] + 1 == segments[-1]
    # IF's schedule rolls too, independently of CU's
    if_frame = await AsyncReader(store).ticks(IF, START, END, statuses=ALL)
    if_days = if_frame.drop_duplicates("trading_day")
    segment_changes = (if_days["segment"].diff() != 0).tolist()
    contract_changes = (if_days["contract"] != if_days["contract"].shift()).tolist()
    assert segment_changes[1:] == contract_changes[1:]


async def test_segments_count_from_the_stored_schedule(store: DuckDBStore) -> None:
    """A schedule known further back (as TqSdk's is) numbers segments over all of it, so
    a day keeps its number whatever range is read; the stored contract still wins."""
    cps = await store.checkpoints([CU], START, END)
    history = [(date(2025, 10, 1), "SHFE.cu2511"), (date(2025, 10, 16), "SHFE.cu2512")]
    await store.write_schedule(CU, history + [(d, c.contract) for (_, d), c in cps.items()])
    reader = AsyncReader(store)
    frame = await reader.ticks(CU, START, END, columns=["id"], statuses=ALL)
    first = frame.groupby("trading_day")["segment"].first()
    assert first[START] == 2 and first[ROLL] == 3
    late = await reader.ticks(CU, ROLL, END, columns=["id"], statuses=ALL)
    assert set(late["segment"]) == {3}


async def test_bars_are_computed_per_day_and_never_span_a_roll(store: DuckDBStore) -> None:
    reader = AsyncReader(store)
    ticks = await reader.ticks(CU, START, END, statuses=ALL)
    by_day = ticks.groupby("trading_day")
    for every in ("1d", "session", "1min"):
        bars = await reader.bars(CU, START, END, every=every, statuses=ALL)
        assert (bars.groupby("trading_day")["ticks"].sum() == by_day.size()).all(), every
        assert (bars.groupby("trading_day")["segment"].nunique() == 1).all()
        day_contract = by_day["contract"].first()
        assert (bars["contract"] == bars["trading_day"].map(day_contract)).all()
        # a bar's volume is what traded in it: per day they add up to the last cumulative
        assert np.allclose(bars.groupby("trading_day")["volume"].sum(), by_day["volume"].last())
        roll_bars = bars[bars["trading_day"] == ROLL]
        assert set(roll_bars["segment"]) == {ticks.loc[ticks.trading_day == ROLL, "segment"].iat[0]}
    daily = await reader.bars(CU, START, END, every="1d", statuses=ALL)
    assert daily["open"].tolist() == by_day["last_price"].first().tolist()
    assert daily["close"].tolist() == by_day["last_price"].last().tolist()
    assert daily["high"].tolist() == by_day["last_price"].max().tolist()
    assert daily["low"].tolist() == by_day["last_price"].min().tolist()
    assert daily["open_interest"].tolist() == by_day["open_interest"].last().tolist()
    sessions = await reader.bars(CU, START, END, every="session", statuses=ALL)
    assert set(sessions["session"]) == {"night", "day"}
    assert (sessions.groupby("trading_day").size() == 2).all()  # CU trades at night
    minutes = await reader.bars(CU, START, START, every="1min", statuses=ALL)
    assert (minutes["start_ns"] % 60_000_000_000 == 0).all()
    assert minutes["start_ns"].is_monotonic_increasing
    with pytest.raises(ValueError, match="every"):
        await reader.bars(CU, START, END, every="5min")


async def test_days_lists_every_stored_day(store: DuckDBStore) -> None:
    reader = AsyncReader(store)
    await fail_day(store, CU, date(2025, 11, 13))
    days = await reader.days(CU, START, END)
    assert days["trading_day"].tolist() == CAL.trading_days(START, END)
    ticks = await reader.ticks(CU, START, END, statuses=ALL)
    by_day = ticks.groupby("trading_day")
    assert days["rows"].tolist() == by_day.size().tolist()
    assert days["first_ns"].tolist() == by_day["datetime"].min().tolist()
    assert days["last_ns"].tolist() == by_day["datetime"].max().tolist()
    assert days["segment"].tolist() == by_day["segment"].first().tolist()
    assert days.set_index("trading_day").at[date(2025, 11, 13), "status"] == "fail"
    assert set(days["status"]) <= set(ALL) and days["score"].notna().all()
    assert set(days["source"]) == {"synthetic"} and days["run_id"].notna().all()
    assert days["first_tick"].dt.tz is not None


async def test_unwanted_statuses_are_left_out_and_said(store: DuckDBStore) -> None:
    bad = date(2025, 11, 13)
    await fail_day(store, CU, bad)
    reader = AsyncReader(store)
    with capture_logs() as logs:
        frame = await reader.ticks(CU, START, END)
    assert bad not in set(frame["trading_day"])
    assert set(frame["trading_day"]) == set(CAL.trading_days(START, END)) - {bad}
    [excluded] = frame.attrs["excluded"]
    assert isinstance(excluded, ExcludedDay)
    assert (excluded.trading_day, excluded.status) == (bad, "fail")
    assert "crossed_book" in excluded.reason
    assert next(e for e in logs if e["event"] == "read_days_excluded")["excluded"] == [
        f"{bad}:fail"
    ]
    only = await reader.ticks(CU, START, END, statuses=("fail",))
    assert set(only["trading_day"]) == {bad}
    pd.testing.assert_frame_equal(only[TICK_COLUMNS], await store.read_day(CU, bad))
    table = await reader.excluded(CU, START, END)
    assert table["trading_day"].tolist() == [bad]
    bars = await reader.bars(CU, START, END, every="1d")
    assert bad not in set(bars["trading_day"]) and len(bars) == 4
    with pytest.raises(ValueError, match="unknown validation status"):
        await reader.ticks(CU, START, END, statuses=("good",))


async def test_streaming_yields_one_day_at_a_time(store: DuckDBStore) -> None:
    await fail_day(store, CU, date(2025, 11, 14))
    reader = AsyncReader(store)
    whole = await reader.ticks(CU, START, END)
    parts = [f async for f in reader.iter_ticks(CU, START, END)]
    assert [p["trading_day"].nunique() for p in parts] == [1] * 4
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert all(p.attrs["excluded"][0].trading_day == date(2025, 11, 14) for p in parts)


async def test_bad_requests_are_refused(store: DuckDBStore) -> None:
    reader = AsyncReader(store)
    with pytest.raises(SymbolError):
        await reader.ticks("SHFE-cu", START, END)
    with pytest.raises(ValueError, match="after"):
        await reader.ticks(CU, END, START)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        await reader.days(CU, "yesterday", END)
    empty = await reader.ticks(CU, "2024-01-02", "2024-01-05")
    assert len(empty) == 0 and list(empty.columns) == [*TICK_COLUMNS, "segment"]


def test_the_blocking_reader_from_a_config_file(filled: Path, tmp_path: Path) -> None:
    shutil.copy(filled.parent / "store.duckdb", tmp_path / "store.duckdb")
    config = small_config(tmp_path, symbols=(CU,))
    with open_reader(config) as reader:
        assert isinstance(reader, Reader)
        frame = reader.ticks(CU, START, END, statuses=ALL)
        days = list(reader.iter_ticks(CU, START, END, columns=["last_price"], statuses=ALL))
        assert sum(len(d) for d in days) == len(frame) == reader.days(CU, START, END).rows.sum()
        assert len(reader.bars(CU, START, END, every="1d", statuses=ALL)) == 5
        assert reader.excluded(CU, START, END, statuses=ALL).empty


async def test_the_blocking_reader_works_inside_a_running_loop(
    filled: Path, tmp_path: Path
) -> None:
    """A notebook calls the blocking face while Jupyter's own event loop runs."""
    shutil.copy(filled.parent / "store.duckdb", tmp_path / "store.duckdb")
    with Reader.open(DuckDBStore(tmp_path / "store.duckdb")) as reader:
        assert len(reader.ticks(CU, START, START, columns=["id"], statuses=ALL)) > 0
    async with open_async_reader(small_config(tmp_path, symbols=(CU,))) as aio:
        frame = await aio.ticks(CU, START, START, columns=list(SOURCE_COLUMNS), statuses=ALL)
        assert len(frame) > 0
