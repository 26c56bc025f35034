"""The pipeline in burst mode: plan, download, validate, sink, checkpoint; stop when done.

``ghtraderd backfill`` is this; ``ghtraderd run`` is the same code path called again for
every new trading day. Setting ``stop`` drains: no new day starts, days in flight finish
and are flushed and checkpointed, then the run returns with ``interrupted`` set.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
import structlog

from daemon.config import Config
from daemon.downloader import Downloader, Validator
from daemon.events import Observer, Observers, RunStats
from daemon.planner import Job, Plan, PlanError, last_complete_day, plan
from daemon.retry import RetryPolicy
from daemon.sink import BatchingSink
from daemon.source_guard import foreign_days
from daemon.source_prep import prepare_schedules, source_observers
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, TradingCalendar, naive_utc
from ghtrader_core.records import IngestRun, RunCounts
from ghtrader_core.sources.base import TickSource
from ghtrader_core.store.base import Store

log = structlog.get_logger("ghtraderd.pipeline")


def code_version() -> str:
    try:
        return version("ghtraderd")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@dataclass(frozen=True, kw_only=True)
class Summary(RunCounts):
    """What a pass did: the run's counters (``RunCounts``: the same the run record keeps)
    and its times. ``as_dict`` is ``backfill --json`` and the status page's last pass."""

    wall_s: float = 0.0
    interrupted: bool = False
    sink_s: float = 0.0
    validate_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LiveControls:
    """Handles on a pass while it runs, so ``ghtraderd run`` can apply hot config to it.

    ``backfill`` fills them in when its downloader and sink exist and clears them when it
    returns; between passes ``apply`` has nothing to do (the next pass reads the config).
    """

    downloader: Downloader | None = None
    sink: BatchingSink | None = None
    latest: Config | None = None  # the last config applied, for a pass still planning

    def attach(self, downloader: Downloader, sink: BatchingSink) -> None:
        self.downloader, self.sink = downloader, sink
        if self.latest is not None:  # a reload landed while the pass was planning
            self.apply(self.latest)

    def apply(self, cfg: Config) -> None:
        """New concurrency, retry policy and batch sizes; nothing in flight is dropped."""
        self.latest = cfg
        if self.downloader is not None:
            self.downloader.set_concurrency(cfg.download.concurrency)
            self.downloader.policy = retry_policy(cfg)
        if self.sink is not None:
            self.sink.reconfigure(cfg.sink)

    @property
    def in_flight(self) -> list[str]:
        return sorted(str(j) for j in self.downloader.in_flight) if self.downloader else []

    @property
    def queue_depth(self) -> int:
        return self.sink.queue_depth if self.sink else 0


def retry_policy(cfg: Config) -> RetryPolicy:
    d = cfg.download
    return RetryPolicy(
        attempts=d.retry_attempts,
        base_s=d.retry_base_s,
        max_s=d.retry_max_s,
        maintenance_wait_s=d.maintenance_wait_s,
        maintenance_max_waits=d.maintenance_max_waits,
    )


def planned_end(
    calendar: TradingCalendar, end: date | None, now: datetime, *, say: bool = True
) -> date:
    """The last day to plan: never after the last complete trading day (said once)."""
    last = last_complete_day(calendar, now)
    if end is not None and end > last:
        if say:
            log.warning("future_days_not_planned", requested_end=str(end), last_complete=str(last))
        return last
    return end if end is not None else last


async def backfill(
    cfg: Config,
    store: Store,
    source: TickSource,
    calendar: TradingCalendar,
    *,
    symbols: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    force: bool = False,
    replace_source: bool = False,
    observer: Observer | None = None,
    validator: Validator | None = None,
    stop: anyio.Event | None = None,
    command: str = "backfill",
    controls: LiveControls | None = None,
    clock: Clock = SYSTEM_CLOCK,  # the daemon's one clock, injected
) -> Summary:
    started = time.perf_counter()
    wanted = list(dict.fromkeys(symbols or cfg.ingest.symbols))  # a repeat is one symbol
    first = start or cfg.ingest.start
    last = planned_end(calendar, end if end is not None else cfg.ingest.end, clock.now())
    if first > last:
        raise PlanError(
            f"start {first} is after the last complete trading day {last}: nothing to fetch yet"
        )
    foreign = await foreign_days(
        store,
        source.name,
        wanted,
        first,
        last,
        replace=replace_source or force,
        store_name=getattr(store, "path", store.name),
    )
    the_plan = await plan(store, calendar, wanted, first, last, force=force)
    if foreign and not force:
        log.warning("replacing_other_source", days=len(foreign), source=source.name)
        redo = [Job(d, s) for s, d in foreign]
        the_plan = Plan(
            jobs=sorted([*the_plan.jobs, *redo]),
            skipped=the_plan.skipped - len(redo),
            start=the_plan.start,
            end=the_plan.end,
        )
    if not await prepare_schedules(source, store, the_plan.jobs, retry_policy(cfg), stop=stop):
        log.warning("stopped_before_start", reason="stop requested while fetching schedules")
        wall_s = round(time.perf_counter() - started, 3)
        return Summary(
            planned=len(the_plan.jobs), skipped=the_plan.skipped, wall_s=wall_s, interrupted=True
        )
    stats = RunStats()
    observers = Observers([stats, *([observer] if observer else []), *source_observers(source)])
    observers.planned(the_plan.total, the_plan.skipped)
    log.info(
        "planned",
        days=the_plan.total,
        to_download=len(the_plan.jobs),
        skipped=the_plan.skipped,
        start=str(the_plan.start),
        end=str(the_plan.end),
    )
    run_id = uuid.uuid4().hex[:16]
    started_at = naive_utc(clock)

    def run_record(status: str, ended: bool) -> IngestRun:
        return IngestRun(
            run_id=run_id,
            command=command,
            started_at=started_at,
            ended_at=naive_utc(clock) if ended else None,
            counts=stats.counts,
            status=status,
            config_hash=cfg.version(),
            code_version=code_version(),
        )

    await store.record_run(run_record("running", ended=False))
    try:
        interrupted = await _run_plan(
            cfg,
            store,
            source,
            the_plan,
            observers,
            stats,
            run_id=run_id,
            validator=validator,
            stop=stop,
            controls=controls,
            clock=clock,
        )
    except BaseException as exc:
        # The run's row must not stay "running": close it, as far as the store lets us.
        status = "cancelled" if isinstance(exc, anyio.get_cancelled_exc_class()) else "failed"
        with anyio.CancelScope(shield=True), anyio.move_on_after(5), suppress(Exception):
            await store.record_run(run_record(status, ended=True))
        raise
    summary = Summary(
        *stats.counts.values(),
        wall_s=round(time.perf_counter() - started, 3),
        interrupted=interrupted,
        sink_s=round(stats.sink_busy_s, 3),
        validate_s=round(stats.validate_s, 3),
    )
    status = "interrupted" if interrupted else ("partial" if stats.counts.failed else "ok")
    await store.record_run(run_record(status, ended=True))
    log.info("backfill_done", **summary.as_dict())
    return summary


async def _run_plan(
    cfg: Config,
    store: Store,
    source: TickSource,
    the_plan: Plan,
    observers: Observers,
    stats: RunStats,
    *,
    run_id: str,
    validator: Validator | None,
    stop: anyio.Event | None,
    controls: LiveControls | None,
    clock: Clock,
) -> bool:
    """Download, validate, sink and checkpoint the plan; True when a stop drained it."""
    sink = BatchingSink(
        store,
        cfg.sink,
        observers,
        run_id=run_id,
        source_name=source.name,
        code_version=code_version(),
        clock=clock,
    )
    downloader = Downloader(
        source,
        store,
        retry_policy(cfg),
        observers,
        concurrency=cfg.download.concurrency,
        validator=validator,
        clock=clock,
    )
    if controls is not None:
        controls.attach(downloader, sink)
    feeder = anyio.CancelScope()
    watcher = anyio.CancelScope()
    interrupted = False

    async def drain_on_stop(event: anyio.Event) -> None:
        nonlocal interrupted
        with watcher:
            await event.wait()
            interrupted = True
            log.warning("draining", in_flight=len(downloader.in_flight), queued=sink.queue_depth)
            feeder.cancel()

    try:
        async with anyio.create_task_group() as outer:
            outer.start_soon(sink.run)
            if stop is not None:
                outer.start_soon(drain_on_stop, stop)
            async with anyio.create_task_group() as days:
                with feeder:
                    await downloader.feed(the_plan.jobs, sink.sender(), days)
                watcher.cancel()  # every day has started: a stop now has nothing left to skip
            sink.close_input()
            # leaving the group waits for the sink to flush and checkpoint what is queued
    finally:
        if controls is not None:
            controls.downloader = controls.sink = None
    return interrupted
