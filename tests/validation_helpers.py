"""Helpers for the validation tests: tiny frames, synthetic days, and finding lookups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ghtrader_core.calendar import NS_PER_S, Session, TradingCalendar, local_midnight_ns
from ghtrader_core.records import DayValidation, Finding, Severity
from ghtrader_core.sources.synthetic.source import InjectedFault, SyntheticConfig, simulate_day
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import DayFrame
from ghtrader_core.validation import Thresholds, validate_day
from ghtrader_core.validation.results import CheckResult

CAL = TradingCalendar()
TH = Thresholds()
MON = date(2025, 11, 3)  # a Monday: its night session is Friday evening's
TUE = date(2025, 11, 4)
HALF_S = NS_PER_S // 2


def day_of(
    symbol: str, trading_day: date = TUE, **faults: float
) -> tuple[DayFrame, list[InjectedFault]]:
    cfg = SyntheticConfig(seed=3, fault_rates=faults)
    return simulate_day(cfg, CAL, parse_main(symbol), trading_day)


def validate(
    frame: pd.DataFrame, symbol: str = "KQ.m@SHFE.cu", trading_day: date = TUE, th: Thresholds = TH
) -> DayValidation:
    return validate_day(frame, symbol=symbol, trading_day=trading_day, calendar=CAL, thresholds=th)


def found(
    result: CheckResult | DayValidation, check: str, field: str | None = None
) -> list[Finding]:
    return [f for f in result.findings if f.check == check and (field is None or f.field == field)]


def serious(result: CheckResult | DayValidation) -> list[Finding]:
    """Findings that count against a day: warnings and errors."""
    return [f for f in result.findings if f.severity in (Severity.WARN, Severity.ERROR)]


def session(start_s: int, end_s: int, name: str = "s", day: date = TUE) -> Session:
    """A session from local seconds after midnight of ``day``."""
    base = local_midnight_ns(day)
    return Session(name, base + start_s * NS_PER_S, base + end_s * NS_PER_S)


def stamps(sess: Session, skip: Iterable[tuple[int, int]] = ()) -> np.ndarray:
    """The 500 ms snapshots of a session (first at open + 0.5 s, last at the close), minus
    the ``skip`` ranges given as [first, last) offsets in half-seconds."""
    ts = np.arange(sess.start_ns + HALF_S, sess.end_ns + 1, HALF_S, dtype=np.int64)
    keep = np.ones(len(ts), dtype=bool)
    for lo, hi in skip:
        keep[lo:hi] = False
    return ts[keep]


def cols(n: int, **overrides: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
    """A clean L1 quote of ``n`` rows on a tick grid of 1, with overrides by column."""
    last = np.full(n, 100.0)
    base = {
        "last_price": last,
        "highest": np.full(n, 101.0),
        "lowest": np.full(n, 99.0),
        "average": np.full(n, 100.25),
        "volume": np.arange(n, dtype=np.float64),
        "amount": np.arange(n, dtype=np.float64) * 1000,
        "open_interest": np.full(n, 500.0),
        "bid_price1": np.full(n, 99.0),
        "ask_price1": np.full(n, 100.0),
        "bid_volume1": np.full(n, 3.0),
        "ask_volume1": np.full(n, 4.0),
    }
    base.update({k: np.asarray(v, dtype=np.float64) for k, v in overrides.items()})
    return base


async def ingest(config: Path, *, validate: bool = True) -> None:
    """Backfill a config's range into its store, with or without inline validation (the
    real pipeline, in-process)."""
    from daemon.config import load_config
    from daemon.factory import build_calendar, build_source, build_store, build_validator
    from daemon.pipeline import backfill

    cfg = load_config(config)
    cal = build_calendar(cfg)
    store = build_store(cfg)
    await store.open()
    try:
        validator = build_validator(cfg, cal) if validate else None
        await backfill(cfg, store, build_source(cfg, cal), cal, validator=validator)
    finally:
        await store.close()
