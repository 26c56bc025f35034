"""Builds the calendar, source and store a config names: the one place that switches on kind."""

from __future__ import annotations

from daemon.config import Config
from daemon.downloader import Validator
from ghtrader_core.calendar import NoNightPeriod, TradingCalendar
from ghtrader_core.sources.base import TickSource
from ghtrader_core.sources.synthetic import SyntheticConfig, SyntheticSource
from ghtrader_core.store.base import Store
from ghtrader_core.store.duckdb import DuckDBStore


def build_calendar(cfg: Config) -> TradingCalendar:
    return TradingCalendar(
        extra_holidays=cfg.calendar.extra_holidays,
        no_night=tuple(
            NoNightPeriod(p.first, p.last, frozenset(p.exchanges)) for p in cfg.calendar.no_night
        ),
    )


def build_source(cfg: Config, calendar: TradingCalendar) -> TickSource:
    s = cfg.source.synthetic
    return SyntheticSource(
        calendar,
        SyntheticConfig(
            seed=s.seed,
            latency_s=s.latency_s,
            timeout_rate=s.timeout_rate,
            maintenance_rate=s.maintenance_rate,
            maintenance_wait_s=s.maintenance_wait_s,
            fault_rates=dict(s.faults),
            l5_exchanges=tuple(str(e) for e in s.l5_exchanges),
        ),
    )


def build_store(cfg: Config) -> Store:
    return DuckDBStore(cfg.store.path)


def build_validator(cfg: Config, calendar: TradingCalendar) -> Validator | None:
    """The inline validator, or None when validation is switched off."""
    return None
