"""Bounded day coroutines: fetch in a worker thread, validate inline, hand to the sink.

At most ``concurrency`` days are in flight: the feeder takes a token of a capacity limiter
before it starts a day's task and the task gives it back when the day is in the sink's
queue. The limiter's size can be changed while running (hot reload). The blocking source
call runs in a worker thread, never on the event loop; so does validation. Those threads
come from the downloader's own thread limiter, sized like the day limiter: anyio's default
one stops at 40 threads, which would cap ``download.concurrency`` (up to 64) silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import anyio
import structlog
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from daemon.events import Observer
from daemon.planner import Job
from daemon.retry import RetryPolicy, call_with_retry
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, naive_utc
from ghtrader_core.errors import (
    FatalError,
    MaintenanceError,
    RetryableError,
    SourceUnavailableError,
    source_down,
)
from ghtrader_core.records import DayValidation, FailedDay
from ghtrader_core.sources.base import TickSource
from ghtrader_core.store.base import DayWrite, Store
from ghtrader_core.ticks import DayFrame, fingerprint

log = structlog.get_logger("ghtraderd.downloader")

Validator = Callable[[DayFrame], DayValidation]


class Downloader:
    def __init__(
        self,
        source: TickSource,
        store: Store,
        policy: RetryPolicy,
        observer: Observer,
        *,
        concurrency: int,
        validator: Validator | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.source = source
        self.clock = clock
        self.store = store
        self.policy = policy
        self.observer = observer
        self.validator = validator
        self.limiter = anyio.CapacityLimiter(concurrency)
        # Apart from ``limiter``: a day's task already holds a token of that one (on behalf
        # of the feeder's token), and each day runs one worker thread at a time.
        self.threads = anyio.CapacityLimiter(concurrency)
        self.in_flight: set[Job] = set()

    def set_concurrency(self, n: int) -> None:
        self.limiter.total_tokens = n
        self.threads.total_tokens = n

    async def feed(
        self, jobs: Iterable[Job], sink: MemoryObjectSendStream[DayWrite], tg: TaskGroup
    ) -> None:
        """Start one task per job, never more than the limiter allows at once.

        Cancelling the feeder (a graceful drain) starts no new day; days already started
        run to the end and reach the sink. Each task holds its own clone of ``sink``.
        """
        async with sink:
            for job in jobs:
                token = object()
                await self.limiter.acquire_on_behalf_of(token)
                tg.start_soon(self._run_job, job, sink.clone(), token, name=str(job))

    async def _run_job(
        self, job: Job, sink: MemoryObjectSendStream[DayWrite], token: object
    ) -> None:
        self.in_flight.add(job)
        try:
            async with sink:
                write = await self._fetch_and_validate(job)
                if write is not None:
                    await sink.send(write)
        finally:
            self.in_flight.discard(job)
            self.limiter.release_on_behalf_of(token)

    async def _fetch_and_validate(self, job: Job) -> DayWrite | None:
        symbol = job.symbol
        started = time.perf_counter()

        attempts = 0

        async def fetch() -> DayFrame:
            nonlocal attempts
            attempts += 1
            return await anyio.to_thread.run_sync(
                self.source.fetch_day,
                symbol,
                job.trading_day,
                abandon_on_cancel=True,
                limiter=self.threads,
            )

        try:
            day = await call_with_retry(fetch, self.policy, what=str(job))
        except FatalError:
            raise
        except SourceUnavailableError as exc:  # the source is down, not this day: stop (75)
            raise source_down(exc, str(job)) from exc
        except Exception as exc:
            permanent = not isinstance(exc, (RetryableError, MaintenanceError))
            await self._fail(job, f"{type(exc).__name__}: {exc}", permanent, attempts)
            return None
        seconds = time.perf_counter() - started
        self.observer.day_fetched(job.symbol_name, job.trading_day, day.rows, seconds)
        if day.rows == 0:
            await self._fail(job, "the source returned no ticks for a trading day", False, attempts)
            return None
        validation = None
        if self.validator is not None:
            started = time.perf_counter()
            validation = await anyio.to_thread.run_sync(self.validator, day, limiter=self.threads)
            self.observer.day_validated(
                job.symbol_name, job.trading_day, time.perf_counter() - started
            )
        fp = await anyio.to_thread.run_sync(fingerprint, day.ticks, limiter=self.threads)
        return DayWrite(day, fp, validation)

    async def _fail(self, job: Job, reason: str, permanent: bool, attempts: int) -> None:
        log.error("day_failed", job=str(job), reason=reason, permanent=permanent)
        self.observer.day_failed(job.symbol_name, job.trading_day, reason, permanent)
        record = FailedDay(
            job.symbol_name,
            job.trading_day,
            reason,
            permanent,
            attempts,
            naive_utc(self.clock),
        )
        # The dead letter must not be lost to a store hiccup: retried like the sink's writes.
        await call_with_retry(
            lambda: self.store.record_failed([record]),
            RetryPolicy(attempts=0, base_s=self.policy.base_s, max_s=self.policy.max_s),
            what="store.record_failed",
        )
