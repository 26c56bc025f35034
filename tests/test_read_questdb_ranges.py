"""QuestDB tick reads of a range against the per-day reads, on the real server.

A range is one statement per run of wanted days (the day predicate in SQL) carrying only
the asked columns, over HTTP ``/exp`` CSV or PGWire; reading the days one by one
(``Store.read_day``: PGWire, ``trading_day =`` the day) is the reference. The days hold
doubles that text formats get wrong when they are not exact (0.1 + 0.2, subnormals, the
largest double, -0.0), NaN and infinities (stored as NULL), and ticks of a day that lie
before the previous day's last tick in time, so a read ordered by time alone would
interleave the days where the per-day reads do not.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from ghtrader_core.errors import PermanentError, StoreUnavailableError
from ghtrader_core.read import AsyncReader
from ghtrader_core.read.plan import ALL_STATUSES
from ghtrader_core.records import Checkpoint
from ghtrader_core.store.base import DayWrite
from ghtrader_core.store.questdb.csv_reads import export_table
from ghtrader_core.store.questdb.read import QuestDBReader
from ghtrader_core.store.questdb.sql import REGISTRY, Sql
from ghtrader_core.store.questdb.store import QuestDBSettings, QuestDBStore
from ghtrader_core.store.questdb.tick_reads import range_statement, result_types, tick_window
from ghtrader_core.ticks import FLOAT_COLUMNS, SOURCE_COLUMNS, TICK_COLUMNS
from tests.questdb_helpers import SYMBOL, T0, small_day
from tests.questdb_server import Endpoint
from tests.test_questdb_sql import parse_all

DAYS = [date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)]
HOUR = 3_600_000_000_000
ODD = [
    0.1 + 0.2,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -0.0,
    1 / 3,
    123456.78901234567,
    9007199254740993.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    -1.303157231604361e13,
]


def day_write(i: int, day: date) -> DayWrite:
    n = len(ODD)
    base = T0 + i * 24 * HOUR
    times = [base + k * 1000 for k in range(n)]
    if i == 2:  # ticks stamped before day 1's last tick: per day, they stay in day 2
        times = [T0 + 24 * HOUR - 500 + k for k in range(n)]
    rng = np.random.default_rng(i)
    prices = ODD if i != 1 else list(rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n))
    return small_day(day, datetimes=times, ids=[100 * i + k for k in range(n)], last_prices=prices)


def checkpoint(w: DayWrite, status: str) -> Checkpoint:
    d = w.day
    return Checkpoint(
        d.symbol, d.trading_day, d.contract, len(d.ticks), w.fingerprint, 0, status,
        datetime(2025, 12, 1), "synthetic",
    )


@pytest.fixture
async def store(questdb_store: QuestDBStore) -> QuestDBStore:
    """The shared empty store (``tests/conftest.py``) holding ``DAYS``, checkpointed."""
    writes = [day_write(i, d) for i, d in enumerate(DAYS)]
    await questdb_store.write_days(writes)
    statuses = ["ok", "fail", "warn"]  # the middle day is left out by default
    marks = [checkpoint(w, st) for w, st in zip(writes, statuses, strict=True)]
    await questdb_store.write_checkpoints(marks, [])
    return questdb_store


def over(store: QuestDBStore, transport: str) -> AsyncReader:
    reader = AsyncReader(store)
    ilp = replace(store.settings.ilp, http_reads=transport == "http")
    store.reader = lambda: QuestDBReader(store.pg, ilp, 30.0)  # type: ignore[method-assign]
    assert store.reader().transport == transport
    return reader


async def per_day(store: QuestDBStore, days: list[date]) -> pd.DataFrame:
    parts = [await store.read_day(SYMBOL, d) for d in days]
    return pd.concat(parts, ignore_index=True)[TICK_COLUMNS]


@pytest.mark.parametrize("transport", ["http", "pgwire"])
async def test_a_range_reads_what_the_days_read_one_by_one(
    store: QuestDBStore, transport: str
) -> None:
    reader = over(store, transport)
    frame = await reader.ticks(SYMBOL, DAYS[0], DAYS[-1], statuses=ALL_STATUSES)
    expected = await per_day(store, DAYS)
    assert len(frame) == 3 * len(ODD)
    pd.testing.assert_frame_equal(frame[TICK_COLUMNS], expected, check_exact=True)
    bits = frame[FLOAT_COLUMNS].to_numpy().view("int64")  # -0.0 stays -0.0
    assert (bits == expected[FLOAT_COLUMNS].to_numpy().view("int64")).all()
    days = reader.iter_ticks(SYMBOL, DAYS[0], DAYS[-1], statuses=ALL_STATUSES)
    streamed = [f async for f in days]
    pd.testing.assert_frame_equal(pd.concat(streamed, ignore_index=True), frame, check_exact=True)
    # the day whose ticks precede day 1's last one in time still comes after it, whole
    assert list(frame["trading_day"].drop_duplicates()) == DAYS
    stored = frame[frame["trading_day"] == DAYS[0]]["last_price"].to_list()
    for written, read in zip(ODD, stored, strict=True):  # NaN and +-inf are stored as NULL
        assert math.isnan(read) if not math.isfinite(written) else read == written


async def test_both_transports_return_the_same_frame(store: QuestDBStore) -> None:
    http = await over(store, "http").ticks(SYMBOL, DAYS[0], DAYS[-1], statuses=ALL_STATUSES)
    pg = await over(store, "pgwire").ticks(SYMBOL, DAYS[0], DAYS[-1], statuses=ALL_STATUSES)
    pd.testing.assert_frame_equal(http, pg, check_exact=True)


async def test_left_out_days_split_the_read_into_runs(store: QuestDBStore) -> None:
    reader = over(store, "http")
    plan = await reader.plan(SYMBOL, DAYS[0], DAYS[-1])
    assert plan.runs() == [(DAYS[0], DAYS[0]), (DAYS[2], DAYS[2])]
    assert (await reader.plan(SYMBOL, DAYS[0], DAYS[-1], ALL_STATUSES)).runs() == [
        (DAYS[0], DAYS[2])
    ]
    frame = await reader.ticks(SYMBOL, DAYS[0], DAYS[-1])
    expected = await per_day(store, [DAYS[0], DAYS[2]])
    pd.testing.assert_frame_equal(frame[TICK_COLUMNS], expected, check_exact=True)
    assert [e.trading_day for e in frame.attrs["excluded"]] == [DAYS[1]]


@pytest.mark.parametrize("transport", ["http", "pgwire"])
async def test_only_the_asked_columns_are_read(store: QuestDBStore, transport: str) -> None:
    asked = ["last_price", "bid_volume5"]
    sql = range_statement(asked)
    assert sql.name in REGISTRY
    selected = sql.text.split(" FROM ")[0]
    assert "last_price" in selected and "bid_volume5" in selected and "ask_price1" not in selected
    raw = await store.reader().ticks(SYMBOL, DAYS[0], DAYS[-1], asked)
    assert list(raw.columns) == ["datetime", "last_price", "bid_volume5", "trading_day"]
    frame = await over(store, transport).ticks(
        SYMBOL, DAYS[0], DAYS[-1], columns=asked, statuses=ALL_STATUSES
    )
    full = await per_day(store, DAYS)
    keep = ["datetime", *asked, "symbol", "contract", "trading_day"]
    pd.testing.assert_frame_equal(frame[keep], full[keep], check_exact=True)


def test_every_projection_parses_with_questdb_parser() -> None:
    subsets = [["datetime"], ["id"], ["last_price", "ask_volume5"], list(FLOAT_COLUMNS[::3])]
    statements = {range_statement(c).name: range_statement(c).render() for c in subsets}
    statements[range_statement(SOURCE_COLUMNS).name] = range_statement(SOURCE_COLUMNS).render()
    errors = parse_all(statements)
    assert len(errors) == len(statements) and not any(errors.values()), errors
    with pytest.raises(ValueError, match="unknown tick columns"):
        range_statement(["last_price; DROP TABLE ticks"])


async def test_export_errors_are_classified(questdb: Endpoint, store: QuestDBStore) -> None:
    settings: QuestDBSettings = questdb.settings()
    sql = range_statement(["last_price"])
    args = tick_window(SYMBOL, DAYS[0], DAYS[0])
    types = result_types(["last_price"])
    table = export_table(settings.ilp, sql, args, types, 10.0)
    assert table.num_rows == len(ODD)
    nowhere = replace(settings.ilp, port=1)
    with pytest.raises(StoreUnavailableError, match="does not answer"):
        export_table(nowhere, sql, args, types, 5.0)
    missing = Sql("qread_test_missing_table", "SELECT x FROM qread_no_such_table")
    try:
        with pytest.raises(PermanentError, match="qread_test_missing_table"):
            export_table(settings.ilp, missing, (), {"x": "int64"}, 10.0)
    finally:
        REGISTRY.pop(missing.name)  # not a statement of the store
