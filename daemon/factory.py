"""Builds the calendar, source and store a config names, looking kinds up in the registry
(``ghtrader_core.backends``): no backend is named here."""

from __future__ import annotations

from daemon.config import Config
from daemon.downloader import Validator
from ghtrader_core.backends import BuildContext, lookup
from ghtrader_core.calendar import (
    SYSTEM_CLOCK,
    Clock,
    NightHours,
    NoNightPeriod,
    TradingCalendar,
    regime_from_row,
)
from ghtrader_core.records import DayValidation
from ghtrader_core.sources.base import TickSource
from ghtrader_core.store.base import Store
from ghtrader_core.ticks import DayFrame
from ghtrader_core.validation import validate_day


def build_calendar(cfg: Config, *, clock: Clock = SYSTEM_CLOCK) -> TradingCalendar:
    return TradingCalendar(
        extra_holidays=cfg.calendar.extra_holidays,
        no_night=tuple(
            NoNightPeriod(p.first, p.last, frozenset(p.exchanges)) for p in cfg.calendar.no_night
        ),
        night_hours=tuple(
            NightHours(h.first, h.last, h.end_s(), frozenset(h.exchanges), frozenset(h.varieties))
            for h in cfg.calendar.night_hours
        ),
        extra_regimes=tuple(
            regime_from_row(r.row(), f"config [[calendar.regimes]] #{i + 1}")
            for i, r in enumerate(cfg.calendar.regimes)
        ),
        clock=clock,
    )


def build_source(
    cfg: Config, calendar: TradingCalendar, *, clock: Clock = SYSTEM_CLOCK
) -> TickSource:
    """The configured source, built by its registered backend (credentials read there)."""
    backend = lookup("source", cfg.source.kind)
    source: TickSource = backend.build(cfg.source, _context(cfg, calendar, clock=clock))
    return source


def build_store(cfg: Config, *, read_only: bool = False, clock: Clock = SYSTEM_CLOCK) -> Store:
    """``read_only``: a command that only reads never creates a store where none is."""
    ctx = _context(cfg, TradingCalendar(clock=clock), read_only=read_only, clock=clock)
    store: Store = lookup("store", cfg.store.kind).build(cfg.store, ctx)
    return store


def _context(
    cfg: Config, calendar: TradingCalendar, *, read_only: bool = False, clock: Clock = SYSTEM_CLOCK
) -> BuildContext:
    return BuildContext(
        calendar=calendar,
        state_dir=cfg.daemon.state_dir,
        read_only=read_only,
        concurrency=cfg.download.concurrency,
        clock=clock,
    )


def build_validator(cfg: Config, calendar: TradingCalendar) -> Validator | None:
    """The inline validator, or None when validation is switched off."""
    if not cfg.validation.enabled:
        return None
    thresholds = cfg.validation.thresholds()

    def validator(day: DayFrame) -> DayValidation:
        return validate_day(
            day.ticks,
            symbol=day.symbol,
            trading_day=day.trading_day,
            calendar=calendar,
            thresholds=thresholds,
        )

    return validator


def use_calendar(source: TickSource, calendar: TradingCalendar) -> None:
    """Hand a reloaded calendar to a running source (every source keeps ``calendar``)."""
    if hasattr(source, "calendar"):
        source.calendar = calendar
