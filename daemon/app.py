"""The life of ``ghtraderd run``, top to bottom: signals, startup, main loop, shutdown.

Like uvicorn's ``Server.serve`` each phase is one method with one job, and signals only
set state: the first SIGTERM/SIGINT asks for a graceful drain, a second one (or the end of
``daemon.drain_timeout_s``) forces a fast exit that is still safe, SIGHUP reloads. Unlike
it, nothing polls: the main loop sleeps until the next deadline (a new trading day's
close plus delay, the next retry of failed days) or until an event wakes it.

The main loop runs the backfill pipeline in passes, the same code path as ``ghtraderd
backfill``: catch up every missing symbol-day, then one pass per new trading day and one
per retry of failed days. A reload that changes what is planned drains the running pass
(days in flight finish, queued rows are flushed and checkpointed) and plans again.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from daemon.config import Config, ConfigError, load_config
from daemon.coverage_cache import CoverageCache
from daemon.endpoints import Endpoints
from daemon.events import Observers
from daemon.factory import build_calendar, build_validator, use_calendar
from daemon.http import HttpServer
from daemon.lifecycle import opened
from daemon.logs import configure_logging
from daemon.metrics import Metrics, instrument_store
from daemon.pipeline import LiveControls, Summary, backfill, code_version
from daemon.planner import PlanError
from daemon.progress import Progress
from daemon.reload import diff
from daemon.status import StatusBoard
from daemon.systemd import Notifier
from daemon.timetable import effective_end, next_new_day_at
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, TradingCalendar
from ghtrader_core.errors import ConfigInvalidError, RetryableError
from ghtrader_core.sources.base import TickSource
from ghtrader_core.store.base import Store

log = structlog.get_logger("ghtraderd.app")

MAX_SLEEP_S = 3600.0  # re-read the wall clock at least hourly (suspend, clock steps)
STATUS_INTERVAL_S = 10.0  # STATUS= and health refresh when no watchdog asks for more


class Daemon(Endpoints):
    def __init__(
        self,
        config_path: Path,
        cfg: Config,
        *,
        notifier: Notifier,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config_path = config_path
        self.cfg = cfg
        self.notifier = notifier
        self.clock = clock  # the one clock: passed to everything below that tells time
        self.now = clock.now
        self.metrics = Metrics(version=code_version(), clock=clock)
        self.board = StatusBoard(clock)
        self.controls = LiveControls()
        self.calendar: TradingCalendar = build_calendar(cfg, clock=self.clock)
        self.coverage = CoverageCache(self.calendar)
        self.progress = Progress(clock=clock)
        self.observers = Observers([self.metrics, self.board, self.coverage, self.progress])
        self.metrics.in_flight.set_function(lambda: len(self.controls.in_flight))
        self.should_exit = anyio.Event()
        self.forced = False
        self.phase = "starting"
        self.ready = False
        self.store_up = False
        self.restart_required: tuple[str, ...] = ()
        self.last_reload: dict[str, Any] = {"ok": True, "at": None, "error": None}
        self.last_summary: Summary | None = None
        self.http_port: int | None = None
        self._store: Store | None = None
        self._source: TickSource | None = None
        self._tg: TaskGroup | None = None
        self._wake = anyio.Event()  # re-evaluate the idle wait (reload, exit)
        self._pass_stop: anyio.Event | None = None  # drains the running pass
        self._pass_scope: anyio.CancelScope | None = None  # cancels it (forced exit)
        self._replan = True  # the first pass is the catch-up
        self._through: date | None = None  # last day covered by a finished pass
        self._last_pass_at = 0.0  # monotonic end of the last pass

    # -- the whole life -----------------------------------------------------------------
    async def serve(self) -> int:
        """Start, run until drained, stop. Signals are not installed here: the command
        (``daemon.commands.run``) or a test calls ``begin_drain``/``force_exit``/``reload``."""
        cfg = self.cfg
        opening = opened(cfg, self.calendar, wrap=self._instrumented, clock=self.clock)
        async with opening as (store, source):
            self._store, self._source = store, source
            await self.startup(store)
            async with anyio.create_task_group() as tg:
                self._tg = tg
                if cfg.metrics.enabled:
                    self.http_port = await tg.start(self._serve_http)
                tg.start_soon(self._heartbeat)
                tg.start_soon(self._probe_store)
                self._announce_ready()
                await self.main_loop()
                await self.shutdown()
                tg.cancel_scope.cancel()
        log.info("stopped", forced=self.forced)
        return 0

    def _instrumented(self, store: Store) -> Store:
        return instrument_store(store, self.metrics)

    async def _serve_http(self, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED) -> None:
        host, _, port = self.cfg.metrics.address.rpartition(":")
        server = HttpServer(host.strip("[]"), int(port), self.routes())
        try:
            sock = server.bind()
        except OSError as exc:
            raise ConfigInvalidError(
                f"metrics.address {self.cfg.metrics.address} cannot be served: "
                f"{exc.strerror or exc} (is another process listening there? choose a free "
                "port or set metrics.enabled = false)"
            ) from None
        await server.serve(sock, task_status=task_status)

    async def startup(self, store: Store) -> None:
        """The store is locked for this process and open: check it answers, load what it
        holds."""
        await store.ping()
        self.store_up = True
        self.metrics.store_up.set(1)
        self.coverage.seed(await store.coverage())
        self.board.seed_failed(await store.failed_days())
        self.metrics.failed_days.set_function(lambda: len(self.board.failed))
        self.metrics.reload_result(True, counted=False)  # the start-up load is no reload
        self.last_reload["at"] = self.now().isoformat()
        log.info(
            "started", config=str(self.config_path), version=self.cfg.version(), pid=os.getpid()
        )

    def _announce_ready(self) -> None:
        self.ready = True
        self.metrics.ready.set(1)
        self.notifier.ready(self.status_line())

    async def main_loop(self) -> None:
        while not self.should_exit.is_set():
            if self._due():
                await self._run_pass()
                continue
            self.phase = "idle"
            wait_s = self._seconds_until_due()
            self._wake = anyio.Event()
            log.info("idle", until_s=round(wait_s, 1), through=str(self._through))
            with anyio.move_on_after(min(wait_s, MAX_SLEEP_S)):
                await self._wake.wait()

    async def shutdown(self) -> None:
        """After the drain: say so; the exit stack then closes source, store, lock in order."""
        self.phase = "stopping"
        self.ready = False
        self.metrics.ready.set(0)
        self.notifier.stopping("stopping" + (" (forced)" if self.forced else ""))

    # -- passes -------------------------------------------------------------------------
    def _end(self, cfg: Config) -> date:
        return effective_end(self.calendar, cfg.ingest.end, self.now(), cfg.daemon.new_day_delay_s)

    def _due(self) -> bool:
        if self._replan or self._through is None:
            return True
        if self._end(self.cfg) > self._through:
            return True
        retry_at = self._last_pass_at + self.cfg.daemon.retry_failed_interval_s
        return bool(self.board.failed) and self.clock.monotonic() >= retry_at

    def _seconds_until_due(self) -> float:
        cfg = self.cfg
        waits = [MAX_SLEEP_S]
        if self._through is not None:
            at = next_new_day_at(
                self.calendar, cfg.ingest.end, self._through, cfg.daemon.new_day_delay_s
            )
            if at is not None:
                waits.append((at - self.now()).total_seconds())
        if self.board.failed:
            retry_at = self._last_pass_at + cfg.daemon.retry_failed_interval_s
            waits.append(retry_at - self.clock.monotonic())
        return max(0.0, min(waits))

    async def _run_pass(self) -> None:
        assert self._store is not None and self._source is not None
        cfg = self.cfg
        self._replan = False
        end = self._end(cfg)
        stop = self._pass_stop = anyio.Event()
        self.board.moved()  # a pass starts fresh, not "stalled since the last one"
        self.phase = "ingesting"
        self.notifier.status(self.status_line())
        try:
            with anyio.CancelScope() as scope:
                self._pass_scope = scope
                summary = await backfill(
                    cfg,
                    self._store,
                    self._source,
                    self.calendar,
                    start=cfg.ingest.start,
                    end=end,
                    observer=self.observers,
                    validator=build_validator(cfg, self.calendar),
                    stop=stop,
                    command="run",
                    controls=self.controls,
                    clock=self.clock,
                )
                self.last_summary = summary
                if not summary.interrupted:
                    self._through = end
        except PlanError as exc:
            log.warning("nothing_to_plan", reason=str(exc))
            self._through = end
        except RetryableError as exc:  # the store was briefly away while planning
            log.error("pass_failed", error=f"{type(exc).__name__}: {exc}")
            self._replan = True  # try again after a pause
            with anyio.move_on_after(cfg.daemon.store_ping_interval_s):
                await self.should_exit.wait()
        finally:
            self._pass_stop = self._pass_scope = None
            self.progress.close()  # a drained pass gives the terminal back
            self._last_pass_at = self.clock.monotonic()
            self.metrics.days_pending.set(0)
        if self.forced:
            log.warning("pass_abandoned", hint="days without a checkpoint are redone next start")

    # -- stopping and reloading (called by the signal loop, or by a test) ------------
    def begin_drain(self) -> None:
        """First stop: start no new day; in-flight days finish, flush, checkpoint."""
        self.should_exit.set()
        self.phase = "draining"
        self.notifier.stopping("draining")
        if self._pass_stop is not None:
            self._pass_stop.set()
        self._wake.set()
        if self._tg is not None:
            self._tg.start_soon(self._drain_deadline)

    def force_exit(self) -> None:
        """Second stop, or the drain took too long: abandon the pass at once. Safe because
        only checkpointed days count as done; the store's own calls are not interrupted."""
        self.forced = True
        if self._pass_scope is not None:
            self._pass_scope.cancel()

    async def _drain_deadline(self) -> None:
        await anyio.sleep(self.cfg.daemon.drain_timeout_s)
        log.warning("drain_timeout", drain_timeout_s=self.cfg.daemon.drain_timeout_s)
        self.force_exit()

    async def reload(self) -> None:
        """Re-read, validate, swap whole; a refused file changes nothing."""
        self.notifier.reloading()
        try:
            loaded = await anyio.to_thread.run_sync(load_config, self.config_path)
        except ConfigError as exc:
            self.last_reload = {"ok": False, "at": self.now().isoformat(), "error": str(exc)}
            self.metrics.reload_result(False)
            log.error("reload_refused", reason=str(exc), version=self.cfg.version())
            self.notifier.ready(self.status_line())
            return
        change = diff(self.cfg, loaded)
        self.cfg = cfg = change.effective
        configure_logging(cfg.log.level, cfg.log.format)
        self.controls.apply(cfg)
        if change.replan:
            self.calendar = build_calendar(cfg, clock=self.clock)
            self.coverage.set_calendar(self.calendar)
            if self._source is not None:
                use_calendar(self._source, self.calendar)
            self._replan = True
            if self._pass_stop is not None:
                self._pass_stop.set()  # drain this pass; the main loop plans the next
        self._wake.set()
        self.restart_required = change.restart
        self.last_reload = {"ok": True, "at": self.now().isoformat(), "error": None}
        self.metrics.reload_result(True, restart_pending=bool(change.restart))
        log.info(
            "reloaded",
            version=cfg.version(),
            live=list(change.live),
            replan=list(change.replan),
            restart_required=list(change.restart),
        )
        self.notifier.ready(self.status_line())

    # -- health -------------------------------------------------------------------------
    def healthy(self) -> bool:
        """Progressing, or idle by schedule. A pass silent for ``stall_timeout_s`` is not."""
        busy = self.phase in ("ingesting", "draining")
        return not busy or self.board.stalled_for_s() < self.cfg.daemon.stall_timeout_s

    async def _heartbeat(self) -> None:
        """WATCHDOG=1 at half of WATCHDOG_USEC while healthy; STATUS= on every beat."""
        was_healthy = True
        while True:
            healthy = self.healthy()
            self.metrics.healthy.set(1 if healthy else 0)
            if healthy and self.notifier.watchdog_interval_s is not None:
                self.notifier.watchdog()
            if was_healthy and not healthy:
                log.error(
                    "pipeline_stalled",
                    seconds=round(self.board.stalled_for_s(), 1),
                    in_flight=self.controls.in_flight,
                    hint="watchdog pings stop; systemd restarts the service",
                )
            was_healthy = healthy
            self.notifier.status(self.status_line())
            await anyio.sleep(self.notifier.watchdog_interval_s or STATUS_INTERVAL_S)

    async def _probe_store(self) -> None:
        assert self._store is not None
        while True:
            interval = self.cfg.daemon.store_ping_interval_s
            up = False
            with anyio.move_on_after(interval):
                try:
                    await self._store.ping()
                    up = True
                except Exception as exc:
                    log.warning("store_ping_failed", error=f"{type(exc).__name__}: {exc}")
            if up != self.store_up:
                log.info("store_state", up=up)
            self.store_up = up
            self.metrics.store_up.set(1 if up else 0)
            await anyio.sleep(interval)

    def status_line(self) -> str:
        s = self.last_summary
        b = self.board
        progress = f" {b.pass_finished}/{b.pass_todo} days" if self.phase == "ingesting" else ""
        text = (
            f"{self.phase}{progress}; {len(self.controls.in_flight)} in flight, queue "
            f"{self.controls.queue_depth}, {len(self.board.failed)} failed days"
        )
        if s is not None:
            text += f"; last pass {s.downloaded}/{s.planned} days, {s.rows} rows"
        if not self.healthy():
            text += "; STALLED"
        return text
