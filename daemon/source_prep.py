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

from daemon.events import Observer, StoredDay
from daemon.planner import Job
from daemon.retry import RetryPolicy, call_with_retry
from ghtrader_core.errors import PermanentError, RetryableError, source_down
from ghtrader_core.schedule import MainSchedule
from ghtrader_core.sources.base import TickSource
from ghtrader_core.sources.hooks import KeepsCache, NeedsSchedule
from ghtrader_core.store.base import Store

log = structlog.get_logger("ghtraderd.sources")


async def prepare_schedules(
    source: TickSource,
    store: Store,
    jobs: Iterable[Job],
    policy: RetryPolicy,
    *,
    stop: anyio.Event | None = None,
) -> bool:
    """Hand a schedule-needing source the stored schedule, fetched anew where it falls short.

    False when ``stop`` was set first: the run has not started a day yet (and the drain
    watcher does not exist yet), so a drain abandons a fetch that may block for minutes
    (its worker thread is left to finish on its own) and the caller starts no day. A
    forced stop cancels the caller's scope, which abandons the fetch the same way.
    """
    if stop is None:
        await _prepare(source, store, jobs, policy)
        return True
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                await stop.wait()
                scope.cancel()

            tg.start_soon(watch)
            await _prepare(source, store, jobs, policy)
            tg.cancel_scope.cancel()
    return not scope.cancelled_caught and not stop.is_set()


async def _prepare(
    source: TickSource, store: Store, jobs: Iterable[Job], policy: RetryPolicy
) -> None:
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

    fetched = await fetch_schedules(source, short, start, policy)
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


async def fetch_schedules(
    source: NeedsSchedule, symbols: list[str], start: date, policy: RetryPolicy
) -> dict[str, list[tuple[date, str]]]:
    """The schedules of ``symbols`` in one query; symbol by symbol when the vendor refuses
    the batch (one unknown symbol fails all of it), so the others still get theirs.

    A symbol the vendor does not know is reported here and left without a schedule: each of
    its days then fails as permanent (dead-lettered, exit 1) while the others are ingested.
    A schedule that cannot be fetched at all stops the run with EX_TEMPFAIL (75): no day
    can be resolved without it, and no day is to blame.
    """

    async def fetch(batch: list[str]) -> dict[str, list[tuple[date, str]]]:
        async def once() -> dict[str, list[tuple[date, str]]]:
            return await anyio.to_thread.run_sync(
                source.fetch_schedule, batch, start, abandon_on_cancel=True
            )

        try:
            return await call_with_retry(once, policy, what="main-contract schedule")
        except RetryableError as exc:
            raise source_down(exc, "the main-contract schedule could not be fetched") from exc

    try:
        return await fetch(symbols)
    except PermanentError as exc:
        if len(symbols) == 1:
            log.error("schedule_refused", symbol=symbols[0], error=str(exc))
            return {}
    out: dict[str, list[tuple[date, str]]] = {}
    for symbol in symbols:
        try:
            out.update(await fetch([symbol]))
        except PermanentError as exc:
            log.error("schedule_refused", symbol=symbol, error=str(exc))
    return out


class CachePruner(Observer):
    """Tells a caching source which days are durable, so it may drop their cache."""

    def __init__(self, source: KeepsCache) -> None:
        self.source = source

    def day_done(self, day: StoredDay) -> None:
        self.source.day_durable(day.symbol, day.trading_day)


def source_observers(source: TickSource) -> list[Observer]:
    return [CachePruner(source)] if isinstance(source, KeepsCache) else []
