"""Builds the calendar, source and store a config names: the one place that switches on kind."""

from __future__ import annotations

import os

from daemon.config import Config
from daemon.downloader import Validator
from daemon.questdb_prep import questdb_settings
from daemon.source_prep import tqsdk_credentials
from ghtrader_core.calendar import NightHours, NoNightPeriod, TradingCalendar
from ghtrader_core.records import DayValidation
from ghtrader_core.sources.base import TickSource
from ghtrader_core.sources.replay.source import ReplayConfig, ReplaySource
from ghtrader_core.sources.synthetic.source import SyntheticConfig, SyntheticSource
from ghtrader_core.sources.tqsdk.source import TqSdkSettings, TqSdkSource, real_api_factory
from ghtrader_core.store.base import Store
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.questdb.store import QuestDBStore
from ghtrader_core.ticks import DayFrame
from ghtrader_core.validation import validate_day


def build_calendar(cfg: Config) -> TradingCalendar:
    return TradingCalendar(
        extra_holidays=cfg.calendar.extra_holidays,
        no_night=tuple(
            NoNightPeriod(p.first, p.last, frozenset(p.exchanges)) for p in cfg.calendar.no_night
        ),
        night_hours=tuple(
            NightHours(h.first, h.last, h.end_s(), frozenset(h.exchanges), frozenset(h.varieties))
            for h in cfg.calendar.night_hours
        ),
    )


def build_source(cfg: Config, calendar: TradingCalendar) -> TickSource:
    if cfg.source.kind == "replay":
        return build_replay_source(cfg, calendar)
    if cfg.source.kind == "tqsdk":
        return build_tqsdk_source(cfg, calendar)
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


def build_replay_source(cfg: Config, calendar: TradingCalendar) -> ReplaySource:
    path = cfg.source.replay.path
    assert path is not None  # the config model refuses kind = "replay" without a path
    return ReplaySource(calendar, ReplayConfig(path, recursive=cfg.source.replay.recursive))


def tqsdk_workers(max_apis: int, concurrency: int) -> int:
    """Worker processes: no more than the account allows, the daemon fetches at once, or
    there are cores to decode on (a TqApi is CPU-bound)."""
    return max(1, min(max_apis, concurrency, len(os.sched_getaffinity(0))))


def tqsdk_settings(cfg: Config) -> TqSdkSettings:
    t = cfg.source.tqsdk
    return TqSdkSettings(
        max_apis=tqsdk_workers(t.max_apis, cfg.download.concurrency) if t.processes else t.max_apis,
        recycle_after_days=t.recycle_after_days,
        recycle_rss_mb=t.recycle_rss_mb,
        processes=t.processes,
        transfer=t.transfer,
        wait_timeout_s=t.wait_timeout_s,
        day_timeout_s=t.day_timeout_s,
        cache_dir=t.cache_dir or cfg.daemon.state_dir / "tqsdk-cache",
    )


def build_tqsdk_source(cfg: Config, calendar: TradingCalendar) -> TqSdkSource:
    """Credentials from the environment or systemd credentials; FatalError when absent."""
    credentials = tqsdk_credentials()
    settings = tqsdk_settings(cfg)
    return TqSdkSource(
        calendar, settings, real_api_factory(credentials, settings), user=credentials.user
    )


def build_store(cfg: Config) -> Store:
    if cfg.store.kind == "questdb":
        return QuestDBStore(questdb_settings(cfg.store.questdb))
    return DuckDBStore(
        cfg.store.path,
        memory_limit_mb=cfg.store.duckdb_memory_limit_mb,
        threads=cfg.store.duckdb_threads,
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
