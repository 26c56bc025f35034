"""Ticks of a run of trading days from QuestDB as columns: one query, the asked columns.

A read of many days is one statement whose day predicate is in SQL (``trading_day``
between the run's first and last day, inside a ``ts`` window so QuestDB prunes
partitions), ordered ``trading_day, ts, id``: exactly the rows and the order of reading
the days one by one (the per-day read filters ``trading_day =`` the day and orders by
``ts, id``), which ``tests/test_read_questdb.py`` checks frame for frame. Only the
columns asked for are selected (``range_statement`` builds the statement from the fixed
column list, never from caller text; every variant is a registered ``Sql``).

Two ways the rows travel (``QuestDBReader`` picks by the store's settings):
- HTTP ``/exp`` CSV parsed by pyarrow (``csv_reads``): the default, no Python object
  per value;
- PGWire: ``asyncpg`` records, each column built from them at C speed (``np.fromiter``
  over an ``itemgetter``; NULL repaired to NaN only when one is there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

import anyio
import numpy as np
import pandas as pd

from ghtrader_core.store.questdb.csv_reads import export_table
from ghtrader_core.store.questdb.ilp import IlpSettings
from ghtrader_core.store.questdb.pg import PgClient
from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.ticks import DTYPES, SOURCE_COLUMNS

_T = datetime(2025, 11, 3)
_W0, _W1 = datetime(2025, 10, 29), datetime(2025, 11, 4)  # example ts window
# The UTC window around trading days start..end that holds their ticks (night sessions
# open the evening before, up to a long weekend earlier; day sessions end by 15:15 Beijing).
WINDOW_BEFORE = timedelta(days=5)
WINDOW_AFTER = timedelta(days=1)
TICK_FILTER = (
    "WHERE ts >= $1 AND ts < $2 AND symbol = $3 AND trading_day >= $4 AND trading_day <= $5"
)
EXAMPLE = (_W0, _W1, "KQ.m@SHFE.cu", _T, _T)
# What a column is called in the result: ``datetime`` is the designated ``ts`` as LONG ns,
# the trading day travels as LONG microseconds (QuestDB TIMESTAMP), both exact integers.
_SELECT = {"datetime": "cast(ts AS LONG) datetime_ns"}
_ALIAS = {"datetime": "datetime_ns"}
DAY = "day_us"


def as_ts(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def tick_window(symbol: str, start: date, end: date) -> tuple[Any, ...]:
    """The arguments of ``TICK_FILTER`` for trading days ``start``..``end``."""
    first, last = as_ts(start), as_ts(end)
    return (first - WINDOW_BEFORE, last + WINDOW_AFTER, symbol, first, last)


def _wanted(columns: Sequence[str]) -> tuple[str, ...]:
    unknown = [c for c in columns if c not in SOURCE_COLUMNS]
    if unknown:
        raise ValueError(f"unknown tick columns {unknown}: choose from {SOURCE_COLUMNS}")
    return tuple(c for c in SOURCE_COLUMNS if c in columns or c == "datetime")


@lru_cache(maxsize=256)
def _statement(wanted: tuple[str, ...]) -> Sql:
    name = "read_ticks_range"
    if list(wanted) != SOURCE_COLUMNS:
        name += "[" + ",".join(wanted) + "]"
    select = ", ".join(_SELECT.get(c, c) for c in wanted)
    return Sql(
        name,
        f"SELECT {select}, cast(trading_day AS LONG) {DAY} FROM ticks "
        + TICK_FILTER
        + " ORDER BY trading_day, ts, id",
        EXAMPLE,
    )


def range_statement(columns: Sequence[str]) -> Sql:
    """The registered statement reading ``columns`` (source columns; ``datetime`` always)
    and the trading day of the ticks of a run of days, in schema order."""
    return _statement(_wanted(columns))


READ_TICKS = range_statement(SOURCE_COLUMNS)  # all columns: what the raw bench side runs
READ_TICK_TIMES = range_statement(["datetime"])  # the narrowest projection


def result_types(columns: Sequence[str]) -> dict[str, str]:
    """Result column name -> dtype of ``range_statement(columns)``, in its order."""
    out = {_ALIAS.get(c, c): DTYPES[c] for c in _wanted(columns)}
    out[DAY] = "int64"
    return out


def record_column(rows: Sequence[Sequence[Any]], i: int, dtype: str) -> np.ndarray:
    """Column ``i`` of asyncpg records, NULL as NaN: straight from the records at C speed
    (no transposed copy of the rows), vectorised repair when a NULL is among them."""
    try:
        return np.fromiter(map(itemgetter(i), rows), dtype=dtype, count=len(rows))
    except TypeError:  # a None among the values
        column = np.array([r[i] for r in rows], dtype=object)
        column[pd.isna(column)] = np.nan
        return column.astype(dtype)


def _frame(data: dict[str, np.ndarray], columns: Sequence[str]) -> pd.DataFrame:
    """Result columns into the reader's frame: source names, ``trading_day`` datetime64."""
    out = {c: data[_ALIAS.get(c, c)] for c in _wanted(columns)}
    out["trading_day"] = (data[DAY].astype("int64") * 1000).view("datetime64[ns]")
    return pd.DataFrame(out, copy=False)


class TickRanges:
    """Reads runs of days over ``/exp`` when ``http`` is given, else over ``pg``."""

    def __init__(self, pg: PgClient, http: IlpSettings | None, timeout_s: float) -> None:
        self._pg = pg
        self._http = http
        self._timeout_s = timeout_s

    @property
    def transport(self) -> str:
        return "http" if self._http is not None else "pgwire"

    async def read(
        self, symbol: str, start: date, end: date, columns: Sequence[str]
    ) -> pd.DataFrame:
        sql, args = range_statement(columns), tick_window(symbol, start, end)
        types = result_types(columns)
        if self._http is not None:
            table = await anyio.to_thread.run_sync(
                export_table, self._http, sql, args, types, self._timeout_s
            )
            data = {n: table.column(n).to_numpy() for n in types}
        else:
            rows = await self._pg.fetch(sql, *args)
            data = {n: record_column(rows, i, t) for i, (n, t) in enumerate(types.items())}
        return _frame(data, columns)
