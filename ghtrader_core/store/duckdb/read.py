"""The DuckDB half of the read API: the SQL behind ``ticks``, ``days`` and ``bars``.

Everything runs through the store's own serialised worker-thread runner (one connection,
calls never overlap), so a reader and the daemon's writes in the same process share it
safely. Ticks come back as Arrow (one block per column, no consolidation copy), numeric
columns only: ``symbol`` and ``contract`` are constant per day and are set by the core
from the day index instead of being converted one Python string per row. Bars are aggregated by
DuckDB itself (``time_bucket``), grouped by trading day so a bar never spans two days
and therefore never a roll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol, TypeVar

import duckdb
import pandas as pd

from ghtrader_core.store.reading import (
    BAR_COLUMNS,
    BAR_EVERY,
    DAY_INDEX_COLUMNS,
    SESSION_OFFSET_H,
    SPAN_COLUMNS,
)
from ghtrader_core.ticks import SOURCE_COLUMNS

T = TypeVar("T")
Con = duckdb.DuckDBPyConnection


class Runner(Protocol):
    async def __call__(self, fn: Callable[[Con], T]) -> T: ...


_DAY_INDEX = """
WITH m AS (
    SELECT trading_day, fingerprint, source, run_id FROM (
        SELECT m.trading_day, m.fingerprint, m.source, m.run_id,
            row_number() OVER (PARTITION BY m.trading_day, m.fingerprint
                ORDER BY r.started_at DESC NULLS LAST, m.run_id DESC) AS k
        FROM manifests m LEFT JOIN ingest_runs r ON r.run_id = m.run_id
        WHERE m.symbol = $1 AND m.trading_day BETWEEN $2 AND $3)
    WHERE k = 1)
SELECT c.trading_day, c.contract, c.row_count, c.fingerprint,
    CASE WHEN v.status IS NOT NULL AND (v.fingerprint IS NULL OR v.fingerprint = c.fingerprint)
        THEN v.status ELSE c.status END AS status,
    CASE WHEN v.fingerprint IS NULL OR v.fingerprint = c.fingerprint THEN v.score END AS score,
    c.validator_version, c.written_at, m.source, m.run_id
FROM checkpoints c
LEFT JOIN validation_summary v ON v.symbol = c.symbol AND v.trading_day = c.trading_day
LEFT JOIN m ON m.trading_day = c.trading_day AND m.fingerprint = c.fingerprint
WHERE c.symbol = $1 AND c.trading_day BETWEEN $2 AND $3
ORDER BY c.trading_day
"""
_SPANS = (
    "SELECT trading_day, min(datetime), max(datetime), count(*) FROM ticks "
    "WHERE symbol = $1 AND trading_day BETWEEN $2 AND $3 GROUP BY trading_day ORDER BY 1"
)
_ORDERED = "ORDER BY datetime, id"
_BUCKETS = {
    "1min": "epoch_ns(time_bucket(INTERVAL '1 minute', make_timestamp(datetime // 1000)))",
    "session": (
        "epoch_ns(time_bucket(INTERVAL '12 hours', make_timestamp(datetime // 1000), "
        f"TIMESTAMP '1970-01-01 {SESSION_OFFSET_H:02d}:00:00'))"
    ),
}


def _bars_sql(every: str) -> str:
    if every not in BAR_EVERY:
        raise ValueError(f"every must be one of {BAR_EVERY}, not {every!r}")
    bucket = _BUCKETS.get(every)
    start = "min(datetime)" if bucket is None else "start_ns"
    group = "trading_day, contract" + ("" if bucket is None else ", start_ns")
    inner = "*" if bucket is None else f"*, {bucket} AS start_ns"
    return (
        f"SELECT trading_day, contract, {start} AS start_ns, "
        f"first(last_price {_ORDERED}), max(last_price), min(last_price), "
        f"last(last_price {_ORDERED}), last(volume {_ORDERED}), last(amount {_ORDERED}), "
        f"last(open_interest {_ORDERED}), count(*) "
        f"FROM (SELECT {inner} FROM ticks "
        "WHERE symbol = $1 AND trading_day BETWEEN $2 AND $3) "
        f"GROUP BY {group} ORDER BY trading_day, start_ns"
    )


def _dates(frame: pd.DataFrame, column: str = "trading_day") -> pd.DataFrame:
    frame[column] = [d.date() if hasattr(d, "date") else d for d in frame[column]]
    return frame


class DuckDBReader:
    """``StoreReader`` over a ``DuckDBStore``'s connection (handed out by its ``reader()``)."""

    def __init__(self, run: Runner) -> None:
        self._run = run

    async def _frame(self, sql: str, args: list[Any], names: list[str]) -> pd.DataFrame:
        def query(con: Con) -> pd.DataFrame:
            frame: pd.DataFrame = con.execute(sql, args).df()
            frame.columns = pd.Index(names)
            return frame

        return await self._run(query)

    async def day_index(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        frame = await self._frame(_DAY_INDEX, [symbol, start, end], DAY_INDEX_COLUMNS)
        frame["rows"] = frame["rows"].fillna(0).astype("int64")
        frame["validator_version"] = frame["validator_version"].fillna(0).astype("int64")
        return _dates(frame)

    async def tick_spans(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        return _dates(await self._frame(_SPANS, [symbol, start, end], SPAN_COLUMNS))

    async def ticks(
        self, symbol: str, start: date, end: date, columns: Sequence[str]
    ) -> pd.DataFrame:
        wanted = [c for c in SOURCE_COLUMNS if c in columns or c == "datetime"]
        sql = (
            f"SELECT {', '.join(wanted)}, trading_day FROM ticks "
            "WHERE symbol = $1 AND trading_day BETWEEN $2 AND $3 "
            "ORDER BY trading_day, datetime, id"
        )

        def query(con: Con) -> pd.DataFrame:
            # Arrow, one block per column: ~2x faster than ``.df()`` for a 28-column day
            table = con.sql(sql, params=[symbol, start, end]).to_arrow_table()
            frame: pd.DataFrame = table.to_pandas(
                date_as_object=False, split_blocks=True, self_destruct=True
            )
            return frame

        return await self._run(query)

    async def bars(self, symbol: str, start: date, end: date, every: str) -> pd.DataFrame:
        frame = await self._frame(_bars_sql(every), [symbol, start, end], BAR_COLUMNS)
        frame["start_ns"] = frame["start_ns"].astype("int64")
        frame["ticks"] = frame["ticks"].astype("int64")
        return _dates(frame)
