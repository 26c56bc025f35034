"""What the daemon does for a source before and after its days: the main-contract
schedule kept in the store, and telling a caching source which days are durable.

The core's sources may not import the store, so the daemon carries the schedule between
them: read from the ``main_schedule`` table, topped up from the source when the planned days
are not all covered, written back, handed to the source.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import anyio
import structlog

from daemon.config import Config
from daemon.events import Observer, StoredDay
from daemon.planner import Job
from daemon.retry import RetryPolicy, call_with_retry
from ghtrader_core.schedule import MainSchedule
from ghtrader_core.sources.base import TickSource
from ghtrader_core.sources.hooks import KeepsCache, NeedsSchedule
from ghtrader_core.sources.tqsdk.backend import (  # moved to the TqSdk package; importable here
    PASSWORD_CRED as PASSWORD_CRED,
)
from ghtrader_core.sources.tqsdk.backend import (
    PASSWORD_ENV as PASSWORD_ENV,
)
from ghtrader_core.sources.tqsdk.backend import (
    USER_CRED as USER_CRED,
)
from ghtrader_core.sources.tqsdk.backend import (
    USER_ENV as USER_ENV,
)
from ghtrader_core.sources.tqsdk.backend import (
    tqsdk_credentials as tqsdk_credentials,
)
from ghtrader_core.sources.tqsdk.backend import tqsdk_settings as _tqsdk_settings
from ghtrader_core.sources.tqsdk.source import TqSdkSettings
from ghtrader_core.store.base import Store

log = structlog.get_logger("ghtraderd.sources")


def tqsdk_settings(cfg: Config) -> TqSdkSettings:
    """Kept for callers of the old ``daemon.factory.tqsdk_settings``; the TqSdk package
    owns the translation now (``ghtrader_core.sources.tqsdk.backend``)."""
    return _tqsdk_settings(cfg.source.tqsdk, cfg.daemon.state_dir)

async def prepare_schedules(
    source: TickSource, store: Store, jobs: Iterable[Job], policy: RetryPolicy
) -> None:
    """Hand a schedule-needing source the stored schedule, fetched anew where it falls short."""
    if not isinstance(source, NeedsSchedule):
        return
    wanted: dict[str, set[date]] = {}
    for job in jobs:
        wanted.setdefault(job.symbol_name, set()).add(job.trading_day)
    short: list[str] = []
    for symbol, days in sorted(wanted.items()):
        stored = await store.read_schedule(symbol)
        source.use_schedule(symbol, stored)
        if not days <= {d for d, _ in stored}:
            short.append(symbol)
    if not short:
        return
    start = min(min(wanted[s]) for s in short)

    async def fetch() -> dict[str, list[tuple[date, str]]]:
        return await anyio.to_thread.run_sync(source.fetch_schedule, short, start)

    fetched = await call_with_retry(fetch, policy, what="main-contract schedule")
    for symbol, rows in fetched.items():
        await store.write_schedule(symbol, rows)
        source.use_schedule(symbol, rows)
        schedule = MainSchedule.from_days(symbol, rows)
        covered = {d for d, _ in rows}
        log.info(
            "schedule_stored",
            symbol=symbol,
            days=len(rows),
            rolls=[f"{s.first_day}={s.contract}" for s in schedule.rolls()][-5:],
            uncovered=len(wanted[symbol] - covered),
            fingerprint=schedule.fingerprint(),
        )


class CachePruner(Observer):
    """Tells a caching source which days are durable, so it may drop their cache."""

    def __init__(self, source: KeepsCache) -> None:
        self.source = source

    def day_done(self, day: StoredDay) -> None:
        self.source.day_durable(day.symbol, day.trading_day)


def source_observers(source: TickSource) -> list[Observer]:
    return [CachePruner(source)] if isinstance(source, KeepsCache) else []
