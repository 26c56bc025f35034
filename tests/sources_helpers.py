"""Shared pieces of the source tests: the real cu1909 ticks and a fake ``TqApi``.

``FakeTqApi`` mirrors the three ``tqsdk.TqApi`` methods the source calls, with the same
signatures (checked against the installed package by a test) and frames with TqSdk's exact
columns. A ``FakeWorld`` holds what the fake "server" knows and records what the source did
(which thread made and closed each instance, how many downloads of a contract overlapped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ghtrader_core.sources.tqsdk.source import tq_tick_columns

REAL_TICKS = Path(__file__).resolve().parent / "data" / "real-ticks"  # see PROVENANCE.md
CU_FILES = {
    date(2019, 9, 12): REAL_TICKS / "tqsdk_SHFE.cu1909_L5_20190912_200ticks.csv",
    date(2019, 9, 16): REAL_TICKS / "tqsdk_SHFE.cu1909_L5_20190916_200ticks.csv",
}


def real_cu_frame(day: date) -> pd.DataFrame:
    """One real cu1909 extract as TqSdk's ``get_tick_data_series`` returns it."""
    raw = pd.read_csv(CU_FILES[day])
    out = pd.DataFrame({c: raw[c] for c in tq_tick_columns("SHFE.cu1909") if c in raw.columns})
    for c in out.columns:
        if c not in ("id", "datetime", "symbol"):
            out[c] = out[c].astype("float64")
    out["duration"] = 0
    return out[tq_tick_columns("SHFE.cu1909")]


def as_read_frame(ticks: pd.DataFrame) -> pd.DataFrame:
    """A day frame with its key columns as a store's read returns them: the categoricals
    as text and ``date`` objects (the values themselves are unchanged)."""
    return ticks.astype({"symbol": str, "contract": str, "trading_day": object})


def synthetic_tq_frame(contract: str, day: date, rows: int = 50) -> pd.DataFrame:
    """A small frame in TqSdk's columns for ``contract`` (1 or 5 levels as TqSdk serves)."""
    cols = tq_tick_columns(contract)
    base = int(pd.Timestamp(day).tz_localize("Asia/Shanghai").value) + 9 * 3600 * 10**9
    data: dict[str, Any] = {
        "id": np.arange(1000, 1000 + rows, dtype="int64"),
        "datetime": base + np.arange(rows, dtype="int64") * 500_000_000,
    }
    for i, c in enumerate(cols[2:-2]):
        data[c] = np.linspace(100.0 + i, 200.0 + i, rows)
    data["symbol"] = contract
    data["duration"] = 0
    return pd.DataFrame(data)[cols]


@dataclass
class FakeWorld:
    """What the fake server holds, what it is told to fail with, what it saw."""

    ticks: dict[tuple[str, date], pd.DataFrame] = field(default_factory=dict)
    schedule: dict[str, list[tuple[date, str]]] = field(default_factory=dict)
    login_error: Callable[[], BaseException] | None = None
    # per (contract, day): errors to raise on the next calls, in order
    errors: dict[tuple[str, date], list[BaseException]] = field(default_factory=dict)
    block: threading.Event | None = None  # downloads wait on this when set
    cache_dir: Path | None = None  # write cache files like TqSdk does
    lock: threading.Lock = field(default_factory=threading.Lock)
    created_on: list[int] = field(default_factory=list)  # thread id per instance
    closed_on: list[tuple[int, int]] = field(default_factory=list)  # (instance, thread)
    calls: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    active: dict[str, int] = field(default_factory=dict)
    max_active: dict[str, int] = field(default_factory=dict)
    schedule_queries: int = 0

    def factory(self) -> FakeTqApi:
        return FakeTqApi(self)


class FakeTqApi:
    """Mirrors ``tqsdk.TqApi``: same method names and signatures, TqSdk-shaped frames."""

    def __init__(self, world: FakeWorld) -> None:
        self._world = world
        if world.login_error is not None:
            raise world.login_error()
        with world.lock:
            world.created_on.append(threading.get_ident())
            self._number = len(world.created_on) - 1
        self._closed = False

    def get_tick_data_series(
        self,
        symbol: str | list[str],
        start_dt: date | datetime,
        end_dt: date | datetime,
        adj_type: str | None = None,
    ) -> pd.DataFrame:
        assert not self._closed, "used after close"
        w = self._world
        contract = symbol if isinstance(symbol, str) else symbol[0]
        assert isinstance(start_dt, date) and isinstance(end_dt, date)
        with w.lock:
            w.calls.append(("ticks", contract, start_dt, end_dt))
            w.active[contract] = w.active.get(contract, 0) + 1
            w.max_active[contract] = max(w.max_active.get(contract, 0), w.active[contract])
            pending = w.errors.get((contract, start_dt), [])
            error = pending.pop(0) if pending else None
        try:
            if w.block is not None:
                w.block.wait(10)
            if error is not None:
                raise error
            frames = [
                f
                for (c, d), f in sorted(w.ticks.items(), key=lambda kv: kv[0][1])
                if c == contract and start_dt <= d <= end_dt
            ]
            if w.cache_dir is not None and frames:
                w.cache_dir.mkdir(parents=True, exist_ok=True)
                first, last = int(frames[0]["id"].iloc[0]), int(frames[-1]["id"].iloc[-1])
                (w.cache_dir / f"{contract}.0.{first}.{last + 1}").write_bytes(b"x")
                (w.cache_dir / f".{contract}.0.lock").write_bytes(b"")
            if not frames:
                return pd.DataFrame()  # TqSdk: no columns at all when there is no data
            return pd.concat(frames, ignore_index=True)
        finally:
            with w.lock:
                w.active[contract] -= 1

    def query_his_cont_quotes(self, symbol: str | list[str], n: int = 200) -> pd.DataFrame:
        w = self._world
        symbols = symbol if isinstance(symbol, list) else [symbol]
        with w.lock:
            w.schedule_queries += 1
        days = sorted({d for s in symbols for d, _ in w.schedule.get(s, [])})[-n:]
        frame = pd.DataFrame({"date": pd.to_datetime(days)})
        for s in symbols:
            known = dict(w.schedule.get(s, []))
            frame[s] = [known.get(d, "") for d in days]
        return frame

    def close(self) -> None:
        self._closed = True
        with self._world.lock:
            self._world.closed_on.append((self._number, threading.get_ident()))
