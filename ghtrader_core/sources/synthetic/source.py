"""A deterministic simulated exchange: the same seed gives the same bytes.

For a main symbol and trading day it takes the contract from the rule schedule (with rolls),
emits a 500 ms snapshot through every session, prices on the variety's tick grid, a five
level book where the exchange publishes one (level 1 only elsewhere, levels 2..5 NaN as
TqSdk returns them) and cumulative volume, amount and open interest. It can add latency,
transient errors and data faults whose ground truth is known, so that the pipeline and the
validators can be measured against the truth.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ghtrader_core.calendar import NS_PER_S, TradingCalendar
from ghtrader_core.errors import MaintenanceError, RetryableError
from ghtrader_core.schedule import rule_contract
from ghtrader_core.symbols import MainSymbol
from ghtrader_core.ticks import BOOK_COLUMNS, LEVELS, SOURCE_COLUMNS, DayFrame, normalize

SNAPSHOT_NS = 500_000_000
FAULT_KINDS = (
    "gap",
    "crossed_book",
    "nan_price",
    "duplicate_timestamp",
    "non_positive_price",
    "decreasing_volume",
    "off_tick_grid",
    "price_jump",
)
# Kinds added later draw from a stream of their own, so that the rows (and bytes) of the
# first six kinds stay what they were.
_LATER_KINDS = ("off_tick_grid", "price_jump")
JUMP_TICKS = 100  # size of an injected price jump (a step of the whole book)
FAULT_ROWS = 5  # rows touched by a point fault
GAP_S = 60  # length of an injected gap


@dataclass(frozen=True)
class InjectedFault:
    """Ground truth of one injected data fault."""

    kind: str
    symbol: str
    trading_day: date
    rows_ns: tuple[int, ...]  # timestamps of the rows touched (for a gap: its bounds)


@dataclass(frozen=True)
class SyntheticConfig:
    seed: int = 0
    latency_s: float = 0.0
    timeout_rate: float = 0.0  # share of days whose first attempt times out
    maintenance_rate: float = 0.0  # share of days whose first attempt hits maintenance
    maintenance_wait_s: float = 1.0
    fault_rates: Mapping[str, float] = field(default_factory=dict)  # kind -> share of days
    l5_exchanges: tuple[str, ...] = ("SHFE", "INE")

    def __post_init__(self) -> None:
        unknown = set(self.fault_rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")


def _stable_seed(*parts: object) -> int:
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def simulate_day(
    cfg: SyntheticConfig, calendar: TradingCalendar, symbol: MainSymbol, trading_day: date
) -> tuple[DayFrame, list[InjectedFault]]:
    """The clean day, then the faults drawn for it applied, with their ground truth."""
    contract = rule_contract(symbol, trading_day)
    rng = np.random.Generator(np.random.PCG64(_stable_seed(cfg.seed, symbol, trading_day)))
    sessions = calendar.sessions(symbol.variety, trading_day)
    stamps = [
        np.arange(s.start_ns + SNAPSHOT_NS, s.end_ns + 1, SNAPSHOT_NS, dtype=np.int64)
        for s in sessions
    ]
    ts = np.concatenate(stamps) if stamps else np.array([], dtype=np.int64)
    raw = _clean_frame(rng, symbol, contract, ts, cfg)
    faults = _apply_faults(rng, cfg, raw, symbol, trading_day)
    ticks, notes = normalize(raw, symbol=str(symbol), contract=contract, trading_day=trading_day)
    return DayFrame(str(symbol), trading_day, contract, ticks, notes), faults


def _clean_frame(
    rng: np.random.Generator,
    symbol: MainSymbol,
    contract: str,
    ts: np.ndarray,
    cfg: SyntheticConfig,
) -> pd.DataFrame:
    n = len(ts)
    tick = symbol.variety.tick_size
    base = int(4000 * (1 + 0.2 * rng.random()))
    steps = rng.choice(np.array([-1, 0, 1]), size=n, p=[0.1, 0.8, 0.1])
    level = base + np.cumsum(steps)  # in ticks
    last = np.round(level * tick, 6)
    dvol = rng.poisson(3.0, size=n).astype(np.float64)
    volume = np.cumsum(dvol)
    amount = np.cumsum(dvol * last * 10.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(volume > 0, amount / (volume * 10.0), last)
    oi = np.maximum(base * 20 + np.cumsum(rng.integers(-2, 3, size=n)), 0).astype(np.float64)
    cols: dict[str, np.ndarray] = {
        "id": _stable_seed(contract) % 10_000_000 + np.arange(n, dtype=np.int64),
        "datetime": ts,
        "last_price": last,
        "highest": np.maximum.accumulate(last) if n else last,
        "lowest": np.minimum.accumulate(last) if n else last,
        "average": np.round(average, 4),
        "volume": volume,
        "amount": amount,
        "open_interest": oi,
    }
    bid1_ticks = level - rng.integers(0, 2, size=n)
    deep = str(symbol.exchange) in cfg.l5_exchanges
    for i in range(1, LEVELS + 1):
        present = i == 1 or deep
        bid = np.round((bid1_ticks - (i - 1)) * tick, 6)
        ask = np.round((bid1_ticks + i) * tick, 6)
        cols[f"bid_price{i}"] = bid if present else np.full(n, np.nan)
        cols[f"ask_price{i}"] = ask if present else np.full(n, np.nan)
        for side in ("bid", "ask"):
            vol = rng.integers(1, 200, size=n).astype(np.float64)
            cols[f"{side}_volume{i}"] = vol if present else np.full(n, np.nan)
    # One block per column, in the schema's order: no consolidated copy of the day here,
    # and normalize() then keeps these arrays as they are (a day is ~13 MB; four copies of
    # it in each download thread were most of a backfill's transient memory).
    return pd.DataFrame({c: cols[c] for c in SOURCE_COLUMNS}, copy=False)


def _pick_rows(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """k distinct rows away from the edges, sorted."""
    lo, hi = min(200, n // 4), max(n - 200, 3 * n // 4)
    return np.sort(rng.choice(np.arange(lo, hi), size=min(k, hi - lo), replace=False))


def _apply_faults(
    rng: np.random.Generator,
    cfg: SyntheticConfig,
    frame: pd.DataFrame,
    symbol: MainSymbol,
    trading_day: date,
) -> list[InjectedFault]:
    faults: list[InjectedFault] = []
    n = len(frame)
    if n < 1000:
        return faults
    tick = symbol.variety.tick_size
    first_kinds = [k for k in FAULT_KINDS if k not in _LATER_KINDS]
    draws = {kind: rng.random() for kind in first_kinds}  # drawn always: rates don't shift rows
    for kind in first_kinds:
        if draws[kind] >= cfg.fault_rates.get(kind, 0.0):
            continue
        rows = _pick_rows(rng, n, FAULT_ROWS)
        ts = frame["datetime"].to_numpy()
        if kind == "gap":
            start = int(rows[0])
            stop = start + GAP_S * NS_PER_S // SNAPSHOT_NS
            faults.append(
                InjectedFault(kind, str(symbol), trading_day, (int(ts[start - 1]), int(ts[stop])))
            )
            frame.drop(index=frame.index[start:stop], inplace=True)
            frame.reset_index(drop=True, inplace=True)
            n = len(frame)
            continue
        touched = tuple(int(ts[r]) for r in rows)
        if kind == "crossed_book":
            frame.loc[rows, "bid_price1"] = frame.loc[rows, "ask_price1"] + tick
        elif kind == "nan_price":
            frame.loc[rows, "last_price"] = np.nan
        elif kind == "duplicate_timestamp":
            frame.loc[rows, "datetime"] = ts[rows - 1]
            touched = tuple(int(ts[r - 1]) for r in rows)
        elif kind == "non_positive_price":
            frame.loc[rows, "last_price"] = 0.0
        elif kind == "decreasing_volume":
            frame.loc[rows, "volume"] = frame["volume"].to_numpy()[rows - 1] - 5.0
        faults.append(InjectedFault(kind, str(symbol), trading_day, touched))
    later = np.random.Generator(
        np.random.PCG64(_stable_seed(cfg.seed, "later-faults", symbol, trading_day))
    )
    later_draws = {kind: later.random() for kind in _LATER_KINDS}
    for kind in _LATER_KINDS:
        if later_draws[kind] >= cfg.fault_rates.get(kind, 0.0):
            continue
        rows = _pick_rows(later, len(frame), FAULT_ROWS)
        ts = frame["datetime"].to_numpy()
        if kind == "off_tick_grid":  # half a tick below: still inside the book, off the grid
            bid = frame["bid_price1"].to_numpy(dtype=np.float64, copy=True)
            bid[rows] = np.round(bid[rows] - tick / 2, 6)
            frame["bid_price1"] = bid
        else:
            _jump(frame, rows, later.choice(np.array([-1.0, 1.0]), size=len(rows)) * tick)
        faults.append(
            InjectedFault(kind, str(symbol), trading_day, tuple(int(ts[r]) for r in rows))
        )
    return faults


def _jump(frame: pd.DataFrame, rows: np.ndarray, signed_tick: np.ndarray) -> None:
    """Shift the whole book by ``JUMP_TICKS`` from each row on; the day's high/low follow."""
    shift = np.zeros(len(frame))
    for row, step in zip(rows, signed_tick, strict=True):
        shift[row:] += JUMP_TICKS * step
    for col in ["last_price", *[c for c in BOOK_COLUMNS if "_price" in c]]:
        frame[col] = np.round(frame[col].to_numpy() + shift, 6)
    last = frame["last_price"].to_numpy()
    frame["highest"] = np.maximum.accumulate(last)
    frame["lowest"] = np.minimum.accumulate(last)


class SyntheticSource:
    """The simulated exchange as a ``TickSource``, with latency and injected errors."""

    name = "synthetic"

    def __init__(
        self,
        calendar: TradingCalendar,
        config: SyntheticConfig | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.calendar = calendar
        self.config = config or SyntheticConfig()
        self._sleep = sleep
        self._attempts: dict[tuple[str, date], int] = {}
        self._lock = threading.Lock()

    def _attempt(self, symbol: MainSymbol, trading_day: date) -> int:
        with self._lock:
            key = (str(symbol), trading_day)
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key]

    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        cfg = self.config
        attempt = self._attempt(symbol, trading_day)
        if cfg.latency_s > 0:
            self._sleep(cfg.latency_s)
        if attempt == 1:
            u = np.random.Generator(
                np.random.PCG64(_stable_seed(cfg.seed, "errors", symbol, trading_day))
            ).random()
            if u < cfg.timeout_rate:
                raise RetryableError(f"simulated time-out for {symbol} {trading_day}")
            if u < cfg.timeout_rate + cfg.maintenance_rate:
                raise MaintenanceError("simulated maintenance window", cfg.maintenance_wait_s)
        day, _ = simulate_day(cfg, self.calendar, symbol, trading_day)
        return day

    def ground_truth(self, symbol: MainSymbol, trading_day: date) -> list[InjectedFault]:
        return simulate_day(self.config, self.calendar, symbol, trading_day)[1]

    def close(self) -> None:
        return None


__all__ = ["BOOK_COLUMNS", "FAULT_KINDS", "InjectedFault", "SyntheticConfig", "SyntheticSource"]
