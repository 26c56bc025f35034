"""The QuestDB half of the read API: registered statements behind ``ticks``, ``days``, ``bars``.

Every statement is a registered ``Sql`` (the parser test sees them all). Ticks are read
by ``tick_reads``: one statement per run of days, only the columns asked for, over HTTP
``/exp`` or PGWire. Tick reads filter on a ``ts`` window around the trading days as well
as on ``trading_day`` so QuestDB prunes partitions. Bars are QuestDB's own ``SAMPLE BY``
(``ALIGN TO CALENDAR``; 12-hour buckets offset to 18:00 Beijing for sessions) keyed by
trading day and contract, so no bar spans two trading days and therefore no roll.
Manifest rows are matched to a checkpoint by fingerprint here, in Python: a day written
by several runs names the latest run that wrote exactly the stored data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ghtrader_core.store.questdb.ilp import IlpSettings
from ghtrader_core.store.questdb.pg import PgClient
from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.store.questdb.tick_reads import (
    EXAMPLE,
    TICK_FILTER,
    TickRanges,
    as_ts,
    record_column,
    tick_window,
)
from ghtrader_core.store.reading import (
    BAR_COLUMNS,
    BAR_EVERY,
    DAY_INDEX_COLUMNS,
    SPAN_COLUMNS,
)

_T = datetime(2025, 11, 3)

DAY_CHECKPOINTS = Sql(
    "read_day_checkpoints",
    "SELECT c.trading_day, c.contract, c.row_count, c.fingerprint, c.status, "
    "c.validator_version, c.written_at, v.status, v.score, v.fingerprint "
    "FROM checkpoints c LEFT JOIN validation_summary v "
    "ON c.symbol = v.symbol AND c.trading_day = v.trading_day "
    "WHERE c.symbol = $1 AND c.trading_day >= $2 AND c.trading_day <= $3 "
    "ORDER BY c.trading_day",
    ("KQ.m@SHFE.cu", _T, _T),
)
DAY_MANIFESTS = Sql(
    "read_day_manifests",
    "SELECT m.trading_day, m.fingerprint, m.source, m.run_id, r.started_at "
    "FROM manifests m LEFT JOIN ingest_runs r ON m.run_id = r.run_id "
    "WHERE m.symbol = $1 AND m.trading_day >= $2 AND m.trading_day <= $3",
    ("KQ.m@SHFE.cu", _T, _T),
)
_TICK_FILTER, _EXAMPLE = TICK_FILTER, EXAMPLE
TICK_SPANS = Sql(
    "read_tick_spans",
    "SELECT trading_day, min(cast(ts AS LONG)), max(cast(ts AS LONG)), count() FROM ticks "
    + _TICK_FILTER
    + " GROUP BY trading_day ORDER BY trading_day",
    _EXAMPLE,
)
_AGGREGATES = (
    "first(last_price), max(last_price), min(last_price), last(last_price), last(volume), "
    "last(amount), last(open_interest), count()"
)
BARS = {
    "1d": Sql(
        "read_bars_1d",
        "SELECT trading_day, contract, min(cast(ts AS LONG)), "
        + _AGGREGATES
        + " FROM ticks "
        + _TICK_FILTER
        + " GROUP BY trading_day, contract ORDER BY trading_day",
        _EXAMPLE,
    ),
    "1min": Sql(
        "read_bars_1min",
        "SELECT ts, trading_day, contract, "
        + _AGGREGATES
        + " FROM ticks "
        + _TICK_FILTER
        + " SAMPLE BY 1m ALIGN TO CALENDAR ORDER BY ts",
        _EXAMPLE,
    ),
    "session": Sql(
        "read_bars_session",
        "SELECT ts, trading_day, contract, "
        + _AGGREGATES
        + " FROM ticks "
        + _TICK_FILTER
        + " SAMPLE BY 12h ALIGN TO CALENDAR WITH OFFSET '10:00' ORDER BY ts",
        _EXAMPLE,
    ),
}
assert set(BARS) == set(BAR_EVERY)




def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _ns(value: Any) -> int:
    """A bucket timestamp as UTC ns (QuestDB sends naive UTC datetimes)."""
    if isinstance(value, datetime):
        return int(pd.Timestamp(value).value)
    return int(value)


def _floats(values: Sequence[Any]) -> np.ndarray:
    return record_column([(v,) for v in values], 0, "float64")


class QuestDBReader:
    """``StoreReader`` over a ``QuestDBStore``'s clients (handed out by ``reader()``):
    ticks over the HTTP server's ``/exp`` when ``http`` is given (``tick_reads``), the
    rest (and ticks without ``http``) over PGWire."""

    def __init__(
        self, pg: PgClient, http: IlpSettings | None = None, timeout_s: float = 60.0
    ) -> None:
        self._pg = pg
        self._ticks = TickRanges(pg, http if http is None or http.http_reads else None, timeout_s)

    @property
    def transport(self) -> str:
        """How tick ranges travel: ``http`` (``/exp`` CSV) or ``pgwire``."""
        return self._ticks.transport

    async def day_index(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        rows = await self._pg.fetch(DAY_CHECKPOINTS, symbol, as_ts(start), as_ts(end))
        latest: dict[tuple[date, str], tuple[Any, str, str]] = {}
        for m in await self._pg.fetch(DAY_MANIFESTS, symbol, as_ts(start), as_ts(end)):
            key = (_day(m[0]), str(m[1]))
            rank = (m[4] or datetime.min, str(m[3]))
            if key not in latest or rank > (latest[key][0], latest[key][2]):
                latest[key] = (rank[0], str(m[2]), str(m[3]))
        out = []
        for r in rows:
            day, fingerprint = _day(r[0]), str(r[3])
            current = r[7] is not None and (r[9] is None or str(r[9]) == fingerprint)
            found = latest.get((day, fingerprint))
            out.append(
                (
                    day,
                    str(r[1]),
                    int(r[2] or 0),
                    fingerprint,
                    str(r[7]) if current else str(r[4]),
                    float(r[8]) if current and r[8] is not None else None,
                    int(r[5] or 0),
                    r[6],
                    found[1] if found else None,
                    found[2] if found else None,
                )
            )
        return pd.DataFrame(out, columns=DAY_INDEX_COLUMNS)

    async def tick_spans(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        rows = await self._pg.fetch(TICK_SPANS, *tick_window(symbol, start, end))
        return pd.DataFrame(
            [(_day(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows], columns=SPAN_COLUMNS
        )

    async def ticks(
        self, symbol: str, start: date, end: date, columns: Sequence[str]
    ) -> pd.DataFrame:
        return await self._ticks.read(symbol, start, end, columns)

    async def bars(self, symbol: str, start: date, end: date, every: str) -> pd.DataFrame:
        if every not in BAR_EVERY:
            raise ValueError(f"every must be one of {BAR_EVERY}, not {every!r}")
        rows = await self._pg.fetch(BARS[every], *tick_window(symbol, start, end))
        out = []
        for r in rows:
            if every == "1d":
                day, contract, start_ns, rest = r[0], r[1], int(r[2]), r[3:]
            else:
                day, contract, start_ns, rest = r[1], r[2], _ns(r[0]), r[3:]
            out.append((_day(day), str(contract), start_ns, *rest))
        frame = pd.DataFrame(out, columns=BAR_COLUMNS)
        for name in BAR_COLUMNS[3:10]:
            frame[name] = _floats(list(frame[name]))
        frame["ticks"] = frame["ticks"].astype("int64")
        return frame.sort_values(["trading_day", "start_ns"], kind="stable", ignore_index=True)
