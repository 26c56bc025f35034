"""Prometheus metrics: one registry of our own, filled by pipeline observers.

Names follow the Prometheus conventions: the ``ghtraderd_`` prefix, base units in the name
(``_seconds``, ``_bytes``, ``_rows``), ``_total`` on counters, and only bounded labels
(a store method name, a validation check or status, never a symbol-day). The registry is
not the library's global one, so tests can build as many daemons as they like.

The pipeline reports through the ``Observer`` hooks; validation is read loosely from the
``DayValidation`` a day was stored with (status, findings, gaps), so the metrics follow
whatever checks the validator has without importing it.
"""

from __future__ import annotations

import functools
import inspect
import platform
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from daemon.events import Observer, StoredDay
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock
from ghtrader_core.store.base import Store
from ghtrader_core.store.base import methods as store_methods

T = TypeVar("T")

CONTENT_TYPE = CONTENT_TYPE_LATEST
_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_FAST_SECONDS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
_ROWS = (1_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000)
_DAYS = (1, 2, 4, 8, 16, 32, 64, 128)
_GAP_SECONDS = (1, 5, 15, 60, 300, 900, 3600)


class Metrics(Observer):
    """The daemon's metrics; as an ``Observer`` it turns pipeline events into samples."""

    def __init__(self, *, version: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock  # timestamps come from the daemon's clock, not the library's
        r = self.registry = CollectorRegistry(auto_describe=True)
        Info("ghtraderd_build", "Version of the running daemon.", registry=r).info(
            {"version": version, "python": platform.python_version()}
        )
        self.download_seconds = Histogram(
            "ghtraderd_download_duration_seconds",
            "Time to fetch one symbol-day from the source, retries included.",
            buckets=_SECONDS,
            registry=r,
        )
        self.rows = Counter(
            "ghtraderd_ingested_rows", "Tick rows made durable in the store.", registry=r
        )
        self.bytes = Counter(
            "ghtraderd_ingested_bytes",
            "In-memory size of the tick columns made durable in the store.",
            registry=r,
        )
        self.days = Counter(
            "ghtraderd_jobs_done", "Symbol-days (jobs) checkpointed in the store.", registry=r
        )
        self.flush_seconds = Histogram(
            "ghtraderd_sink_flush_duration_seconds",
            "Time to write one batch and its checkpoints.",
            buckets=_SECONDS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "ghtraderd_sink_batch_rows", "Rows per sink batch.", buckets=_ROWS, registry=r
        )
        self.batch_days = Histogram(
            "ghtraderd_sink_batch_jobs", "Symbol-days per sink batch.", buckets=_DAYS, registry=r
        )
        self.queue = Gauge(
            "ghtraderd_sink_queue_jobs", "Symbol-days waiting in the sink's queue.", registry=r
        )
        self.in_flight = Gauge(
            "ghtraderd_downloads_in_flight", "Symbol-days being downloaded now.", registry=r
        )
        self.store_seconds = Histogram(
            "ghtraderd_store_query_duration_seconds",
            "Latency of store calls, by store method.",
            ["query"],
            buckets=_FAST_SECONDS,
            registry=r,
        )
        self.store_errors = Counter(
            "ghtraderd_store_errors", "Store calls that raised, by store method.", ["query"],
            registry=r,
        )
        self.store_up = Gauge(
            "ghtraderd_store_up", "1 if the store answered its last ping.", registry=r
        )
        self.validation_seconds = Histogram(
            "ghtraderd_validation_duration_seconds",
            "Time to validate one symbol-day inline.",
            buckets=_FAST_SECONDS,
            registry=r,
        )
        self.validated = Counter(
            "ghtraderd_validations", "Symbol-days validated inline, by verdict.", ["status"],
            registry=r,
        )
        for status in ("ok", "warn", "fail"):
            self.validated.labels(status)
        self.findings = Counter(
            "ghtraderd_validation_findings",
            "Occurrences found by validation checks, by check.",
            ["check"],
            registry=r,
        )
        self.gap_seconds = Histogram(
            "ghtraderd_validation_gap_length_seconds",
            "Length of runs without ticks inside a session.",
            buckets=_GAP_SECONDS,
            registry=r,
        )
        self.days_pending = Gauge(
            "ghtraderd_jobs_pending", "Symbol-days planned and not yet done or failed.",
            registry=r,
        )
        self.last_success = Gauge(
            "ghtraderd_last_success_timestamp_seconds",
            "Unix time a symbol-day was last checkpointed.",
            registry=r,
        )
        self.last_progress = Gauge(
            "ghtraderd_last_progress_timestamp_seconds",
            "Unix time the pipeline last moved (a day fetched, failed or flushed).",
            registry=r,
        )
        self.failed_days = Gauge(
            "ghtraderd_jobs_failed", "Symbol-days in the dead-letter table now.", registry=r
        )
        self.day_failures = Counter(
            "ghtraderd_job_failures", "Symbol-day failures, by kind.", ["kind"], registry=r
        )
        for kind in ("permanent", "retryable"):
            self.day_failures.labels(kind)
        self.reload_ok = Gauge(
            "ghtraderd_config_last_reload_successful",
            "1 if the last config (re)load was applied, 0 if it was refused.",
            registry=r,
        )
        self.reload_ts = Gauge(
            "ghtraderd_config_last_reload_success_timestamp_seconds",
            "Unix time of the last config load that was applied.",
            registry=r,
        )
        self.reloads = Counter(
            "ghtraderd_config_reloads", "Config reloads, by result.", ["result"], registry=r
        )
        for result in ("applied", "refused"):
            self.reloads.labels(result)
        self.restart_pending = Gauge(
            "ghtraderd_config_restart_pending",
            "1 if the file changed keys that only a restart applies.",
            registry=r,
        )
        self.ready = Gauge("ghtraderd_ready", "1 once READY was signalled.", registry=r)
        self.healthy = Gauge(
            "ghtraderd_pipeline_healthy", "1 while progressing or idle by schedule.", registry=r
        )

    # -- exposition -------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(self.registry)

    def reload_result(
        self, applied: bool, *, restart_pending: bool = False, counted: bool = True
    ) -> None:
        """``counted=False``: the start-up load sets the gauges but is not a reload."""
        self.reload_ok.set(1 if applied else 0)
        if counted:
            self.reloads.labels("applied" if applied else "refused").inc()
        if applied:
            self.reload_ts.set(self._now())
            self.restart_pending.set(1 if restart_pending else 0)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    # -- observer hooks ---------------------------------------------------------------
    def planned(self, total: int, skipped: int) -> None:
        self.days_pending.set(total - skipped)
        self.last_progress.set(self._now())

    def day_fetched(self, symbol: str, trading_day: date, rows: int, seconds: float) -> None:
        self.download_seconds.observe(seconds)
        self.last_progress.set(self._now())

    def day_validated(self, symbol: str, trading_day: date, seconds: float) -> None:
        self.validation_seconds.observe(seconds)

    def day_failed(self, symbol: str, trading_day: date, reason: str, permanent: bool) -> None:
        self.day_failures.labels("permanent" if permanent else "retryable").inc()
        self.days_pending.dec()
        self.last_progress.set(self._now())

    def batch_flushed(self, days: int, rows: int, seconds: float) -> None:
        self.flush_seconds.observe(seconds)
        self.batch_rows.observe(rows)
        self.batch_days.observe(days)
        self.last_progress.set(self._now())

    def day_done(self, day: StoredDay) -> None:
        self.days.inc()
        self.rows.inc(day.rows)
        self.days_pending.dec()
        self.last_success.set(self._now())
        self.bytes.inc(day.nbytes)
        validation = day.validation
        if validation is None:
            return
        self.validated.labels(str(validation.status)).inc()
        for finding in validation.findings:
            self.findings.labels(finding.check).inc(finding.count)
        for gap in validation.gaps:
            self.gap_seconds.observe(gap.length_s)

    def queue_depth(self, days: int) -> None:
        self.queue.set(days)


# The store methods timed into the query-latency histogram: the ``Store`` protocol's, and
# the staged writes of stores that pipeline them. Named, not discovered: a store may have
# other public attributes (QuestDB's ``pg`` property raises until ``open()``).
STORE_METHODS = (
    *store_methods(Store),  # store13: every role protocol's methods (Store composes them)
    "send_days",
    "wait_visible",
)


def instrument_store(store: T, metrics: Metrics, methods: Iterable[str] = STORE_METHODS) -> T:
    """Time the named coroutine methods of ``store`` into the query-latency histogram.

    Wraps on the instance, so no store module needs to know about metrics. Each name is
    looked up on the class first, so a property is never evaluated and a method the store
    lacks is skipped. The ``query`` label is the method name.
    """
    for name in methods:
        if not inspect.iscoroutinefunction(getattr(type(store), name, None)):
            continue
        setattr(store, name, _timed(getattr(store, name), name, metrics))
    return store


def _timed(
    method: Callable[..., Awaitable[Any]], name: str, metrics: Metrics
) -> Callable[..., Awaitable[Any]]:
    histogram = metrics.store_seconds.labels(name)
    errors = metrics.store_errors.labels(name)

    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        except Exception:
            errors.inc()
            raise
        finally:
            histogram.observe(time.perf_counter() - started)

    return timed
