"""The read API for researchers: ticks, days and bars of a main series, roll-aware.

One class over any store that has a ``reader()`` (``ghtrader_core.store.reading``): the
store runs its own SQL, this module plans the days (status filter, segments) and puts
the frames into the tick schema. Only checkpointed days are read, so a day whose write
did not finish is never returned half. ``Reader`` (``ghtrader_core.read.sync``) is the
same API without ``await``, for notebooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import structlog

from ghtrader_core.read.plan import (
    DEFAULT_STATUSES,
    HISTORY,
    DayLike,
    DayPlan,
    ExcludedDay,
    as_day,
    as_statuses,
    excluded_frame,
    make_plan,
)
from ghtrader_core.store.base import Store
from ghtrader_core.store.reading import (
    BAR_COLUMNS,
    BAR_EVERY,
    SESSION_OFFSET_H,
    ReadableStore,
    StoreReader,
)
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import DTYPES, SOURCE_COLUMNS

log = structlog.get_logger("ghtraderd.read")

KEYS = ["symbol", "contract", "trading_day", "segment"]
BEIJING = "Asia/Shanghai"


def tick_columns(columns: Sequence[str] | None) -> list[str]:
    """The source columns to return, in schema order; ``datetime`` always."""
    if columns is None:
        return list(SOURCE_COLUMNS)
    unknown = [c for c in columns if c not in SOURCE_COLUMNS and c not in KEYS]
    if unknown:
        raise ValueError(f"unknown tick columns {unknown}: choose from {SOURCE_COLUMNS}")
    return [c for c in SOURCE_COLUMNS if c in columns or c == "datetime"]


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    out = {c: pd.Series([], dtype=DTYPES[c]) for c in columns}
    out.update({k: pd.Series([], dtype="object") for k in KEYS[:3]})
    out["segment"] = pd.Series([], dtype="int64")
    return pd.DataFrame(out)


_TEXT: Any = pd.Series(["text"]).dtype  # what pandas makes of strings: object, "str" in 3.x


def _text(values: list[str], codes: np.ndarray) -> Any:
    """A text column of ``values[codes]`` built from the few distinct values, not per row."""
    return pd.array(np.array(values, dtype=object), dtype=_TEXT).take(codes)


def _day_runs(td: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days sorted ascending as (first row of each run, its day): O(n), no sort."""
    if len(td) == 0:
        return np.array([], dtype="int64"), td
    starts = np.concatenate([[0], np.flatnonzero(td[1:] != td[:-1]) + 1])
    return starts, td[starts]


def assemble(raw: pd.DataFrame, plan: DayPlan, columns: Sequence[str]) -> pd.DataFrame:
    """A store's tick frame (source columns + ``trading_day`` as datetime64) into the
    tick schema plus ``segment``, keeping only the plan's wanted days."""
    td = raw["trading_day"].to_numpy().astype("datetime64[D]")
    starts, days = _day_runs(td)
    day_objs = [d.item() for d in days]
    wanted = set(plan.days)
    keep = np.array([d in wanted for d in day_objs], dtype=bool)
    lengths = np.diff(np.concatenate([starts, [len(td)]]))
    names = [*columns, "trading_day"]
    frame = raw if list(raw.columns) == names else raw[names]
    if not keep.all():
        frame = frame[np.repeat(keep, lengths)].reset_index(drop=True)
        day_objs = [d for d, k in zip(day_objs, keep, strict=True) if k]
        lengths = lengths[keep]
    if not len(frame):
        return empty_frame(columns)
    runs = np.repeat(np.arange(len(day_objs)), lengths)
    contract, segment = plan.contract_of(), plan.segment_of()
    frame["trading_day"] = np.array(day_objs, dtype=object)[runs]
    pos = len(columns)
    frame.insert(pos, "symbol", _text([plan.symbol], np.zeros(len(frame), dtype=np.int64)))
    frame.insert(pos + 1, "contract", _text([contract[d] for d in day_objs], runs))
    frame["segment"] = np.array([segment[d] for d in day_objs], dtype="int64")[runs]
    return frame


class AsyncReader:
    """``ticks``, ``days``, ``bars`` and day-by-day streaming over an opened store."""

    def __init__(self, store: Store) -> None:
        if not isinstance(store, ReadableStore):
            raise TypeError(f"store {store.name!r} has no reader()")
        self.store = store

    @property
    def _sql(self) -> StoreReader:
        return self.store.reader()  # type: ignore[attr-defined, no-any-return]

    async def plan(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> DayPlan:
        """The stored days of ``symbol`` in range: which are read, which left out, why."""
        name = str(parse_main(symbol))
        first, last = as_day(start), as_day(end)
        if first > last:
            raise ValueError(f"start {first} is after end {last}")
        wanted = as_statuses(statuses)
        history = await self._sql.day_index(name, *HISTORY)
        schedule = await self.store.read_schedule(name)
        in_range = history[(history["trading_day"] >= first) & (history["trading_day"] <= last)]
        checks: dict[date, str] = {}
        if not in_range["status"].isin(wanted).all():
            rows = await self.store.validation_rows([name], first, last)
            checks = {r.trading_day: r.checks for r in rows}
        plan = make_plan(name, first, last, wanted, history, schedule, checks)
        if plan.excluded:
            log.info(
                "read_days_excluded",
                symbol=name,
                statuses=list(wanted),
                excluded=[f"{e.trading_day}:{e.status}" for e in plan.excluded],
            )
        return plan

    async def read_day(
        self, plan: DayPlan, trading_day: date, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The ticks of one planned day (empty if the plan leaves it out)."""
        cols = tick_columns(columns)
        if trading_day not in set(plan.days):
            return empty_frame(cols)
        raw = await self._sql.ticks(plan.symbol, trading_day, trading_day, cols)
        return assemble(raw, plan, cols)

    async def ticks(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        columns: Sequence[str] | None = None,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> pd.DataFrame:
        """Ticks of the wanted days in time order: the tick schema (or ``columns`` of it)
        plus ``segment``; ``frame.attrs["excluded"]`` lists the days left out."""
        plan = await self.plan(symbol, start, end, statuses)
        cols = tick_columns(columns)
        parts = [await self._sql.ticks(plan.symbol, a, b, cols) for a, b in plan.runs()]
        if not parts:
            frame = empty_frame(cols)
        else:
            raw = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
            frame = assemble(raw, plan, cols)
        frame.attrs["excluded"] = list(plan.excluded)
        return frame

    async def iter_ticks(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        columns: Sequence[str] | None = None,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> AsyncIterator[pd.DataFrame]:
        """The same rows as ``ticks``, one frame per trading day: a year need not fit."""
        plan = await self.plan(symbol, start, end, statuses)
        for day in plan.days:
            frame = await self.read_day(plan, day, columns)
            frame.attrs["excluded"] = list(plan.excluded)
            yield frame

    async def excluded(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> pd.DataFrame:
        """The days ``ticks`` with these arguments leaves out, with the reason."""
        return excluded_frame((await self.plan(symbol, start, end, statuses)).excluded)

    async def days(self, symbol: str, start: DayLike, end: DayLike) -> pd.DataFrame:
        """One row per stored day: contract, segment, rows, first/last tick, validation
        status and score, source and run (the manifest row that wrote the stored data)."""
        plan = await self.plan(symbol, start, end, ("ok", "warn", "fail", "unvalidated"))
        spans = await self._sql.tick_spans(plan.symbol, plan.start, plan.end)
        frame = plan.index.merge(spans, on="trading_day", how="left")
        frame["rows"] = frame["ticks"].fillna(0).astype("int64")
        for end_name in ("first", "last"):
            ns = frame[f"{end_name}_ns"]
            frame[f"{end_name}_ns"] = ns.astype("Int64")
            frame[f"{end_name}_tick"] = pd.to_datetime(ns, utc=True).dt.tz_convert(BEIJING)
        frame.insert(0, "symbol", plan.symbol)
        return frame[
            [
                "symbol",
                "trading_day",
                "contract",
                "segment",
                "rows",
                "first_tick",
                "last_tick",
                "first_ns",
                "last_ns",
                "status",
                "score",
                "validator_version",
                "fingerprint",
                "source",
                "run_id",
                "written_at",
            ]
        ]

    async def bars(
        self,
        symbol: str,
        start: DayLike,
        end: DayLike,
        every: str = "1d",
        statuses: Sequence[str] | str = DEFAULT_STATUSES,
    ) -> pd.DataFrame:
        """OHLC, volume, amount and open interest per ``every`` ("1d", "session" or
        "1min"), aggregated by the store, within one trading day (so never across a
        roll). ``volume``/``amount`` are traded in the bar (differences of the day's
        cumulative counters); ``open_interest`` is the bar's last."""
        if every not in BAR_EVERY:
            raise ValueError(f"every must be one of {BAR_EVERY}, not {every!r}")
        plan = await self.plan(symbol, start, end, statuses)
        days = plan.days
        if not days:
            raw = pd.DataFrame({c: pd.Series([], dtype="float64") for c in BAR_COLUMNS})
        else:
            raw = await self._sql.bars(plan.symbol, min(days), max(days), every)
        frame = raw[raw["trading_day"].isin(set(days))].reset_index(drop=True)
        bars = frame.rename(columns={"volume_cum": "volume", "amount_cum": "amount"})
        by_day = frame.groupby("trading_day", sort=False)
        for name in ("volume", "amount"):
            bars[name] = frame[f"{name}_cum"] - by_day[f"{name}_cum"].shift(1, fill_value=0.0)
        segment = plan.segment_of()
        bars.insert(0, "symbol", plan.symbol)
        bars.insert(3, "segment", [segment[d] for d in bars["trading_day"]])
        start_ns = bars["start_ns"].astype("int64")
        bars.insert(4, "start", pd.to_datetime(start_ns, utc=True).dt.tz_convert(BEIJING))
        if every == "session":
            night = (start_ns // 3_600_000_000_000) % 24 == SESSION_OFFSET_H
            bars.insert(5, "session", np.where(night, "night", "day"))
        bars.attrs["excluded"] = list(plan.excluded)
        return bars


__all__ = ["AsyncReader", "ExcludedDay", "assemble", "tick_columns"]
