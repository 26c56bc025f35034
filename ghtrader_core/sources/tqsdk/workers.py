"""TqApi sessions in worker processes: downloads that scale with cores and can be stopped.

One ``TqApi`` decodes about 14 k ticks/s and is CPU-bound in pure Python (its ``_merge_diff``
and per-field float conversion), so threads of one process do not add up. The runner keeps
``size`` long-lived worker processes (``spawn``: the parent runs an event loop and threads,
which ``fork`` would copy half-way), each with its own ``TqApi`` and its own cache directory
``<cache_dir>/worker-<i>`` (so no two sessions ever share TqSdk's per-symbol file lock).

* A job is a picklable value (``TicksJob``/``ScheduleJob``) sent over a pipe; the day frame
  comes back pickled (protocol 5, one copy of the column buffers) or as Arrow IPC
  (``transfer``; ``bench/tqsdk.py`` measures both). Errors are classified in the worker and
  travel as the daemon's own error classes.
* After each day the worker drops what its ``TqApi`` keeps of it (``release.py``: TqSdk holds
  every downloaded tick twice, ~225 MB per L5 day, and a closed ``TqApi`` gives little back),
  so a worker stays flat for many days. It is still recycled (stopped, replaced on next use)
  after ``recycle_after_days`` days or once its RSS passes ``recycle_rss_mb``: the bound
  when an unknown tqsdk version keeps the shape ``release.py`` relies on from being found.
* A job past its deadline gets its worker killed (SIGKILL): the OS drops the file lock with
  the process, and the worker's cache directory is deleted, so nothing stuck or orphaned is
  left; the next job starts a fresh worker.
* Workers ignore SIGINT/SIGTERM (the parent drains and stops them) and exit when the
  parent's end of the pipe closes, so a killed daemon leaves no worker behind.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import multiprocessing as mp
import queue
import signal
import threading
import weakref
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pandas as pd
import psutil  # type: ignore[import-untyped]
import pyarrow as pa

from ghtrader_core.errors import GhtraderError, RetryableError
from ghtrader_core.sources.tqsdk.api import Job, RealApiFactory, TqApiLike, import_tqsdk
from ghtrader_core.sources.tqsdk.cache import prune_cache, wipe_cache
from ghtrader_core.sources.tqsdk.errors import classify
from ghtrader_core.sources.tqsdk.release import Session

log = logging.getLogger("ghtraderd.tqsdk")
START_METHOD = "spawn"
STARTUP_TIMEOUT_S = 120.0  # spawn + import of pandas and tqsdk, seconds on a busy machine
_RUNNERS: weakref.WeakSet[ProcessRunner] = weakref.WeakSet()


@atexit.register
def _kill_leftover_workers() -> None:
    """A parent that exits without closing its source (an error path) kills its workers
    itself: they ignore the SIGTERM that multiprocessing's own exit hook would send."""
    for runner in list(_RUNNERS):
        runner.kill_all()


# -- frames over the pipe -------------------------------------------------------------------
def encode(frame: pd.DataFrame, transfer: str) -> tuple[str, Any]:
    if transfer == "arrow" and len(frame.columns):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return "arrow", sink.getvalue().to_pybytes()
    return "frame", frame


def decode(kind: str, payload: Any) -> pd.DataFrame:
    if kind == "arrow":
        frame: pd.DataFrame = pa.ipc.open_stream(payload).read_pandas()
        return frame
    assert isinstance(payload, pd.DataFrame)
    return payload


def rss_mb(pid: int | None = None) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


# -- the worker process -------------------------------------------------------------------
def worker_main(conn: Connection, factory: RealApiFactory, user: str, transfer: str) -> None:
    """Serve jobs from ``conn`` with one TqApi until told to stop or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # tqsdk prints its disclaimer on import: once per worker would bury the daemon's own last
    # line (see README, "Sources: TqSdk Pro"); importing before "ready" keeps the seconds it
    # takes out of the first day's deadline.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import_tqsdk()
    conn.send(("ready", None, rss_mb()))
    session = Session(factory, close=_close)
    try:
        while True:
            try:
                job: Job | None = conn.recv()
            except (EOFError, OSError):
                break  # the parent is gone
            if job is None:
                break
            try:
                reply: tuple[str, Any, float] = (*encode(session.run(job), transfer), rss_mb())
            except Exception as exc:  # a failed TqApi is not trusted again
                session.drop()
                reply = ("error", _portable(classify(exc, user=user)), rss_mb())
            try:
                conn.send(reply)
            except (OSError, ValueError):
                break
    finally:
        session.drop()


def _portable(err: GhtraderError) -> GhtraderError:
    """The error without its traceback chain (which does not pickle)."""
    err.__cause__ = err.__context__ = None
    err.__traceback__ = None
    return err


def _close(api: TqApiLike | None) -> None:
    if api is None:
        return
    try:
        api.close()
    except Exception as exc:  # closing a broken connection may fail; the process ends soon
        log.debug("TqApi close failed: %s: %s", type(exc).__name__, exc)


# -- the parent's side --------------------------------------------------------------------
@dataclass(eq=False)
class _Slot:
    index: int
    cache_dir: Path
    proc: BaseProcess | None = None
    conn: Connection | None = None
    days: int = 0
    to_prune: set[str] = field(default_factory=set)


class ProcessRunner:
    """``size`` worker slots; a slot is used by one caller at a time and (re)started lazily."""

    def __init__(
        self,
        factory: RealApiFactory,
        size: int,
        *,
        recycle_after_days: int,
        recycle_rss_mb: int,
        close_timeout_s: float,
        transfer: str = "pickle",
        user: str = "",
    ) -> None:
        self._factory = factory
        self._recycle_days = recycle_after_days
        self._recycle_mb = recycle_rss_mb
        self._close_timeout_s = close_timeout_s
        self._transfer = transfer
        self._user = user
        self._ctx = mp.get_context("spawn")  # START_METHOD
        self._slots = [_Slot(i, factory.cache_dir / f"worker-{i}") for i in range(size)]
        self._idle: queue.Queue[_Slot] = queue.Queue()
        for slot in self._slots:
            self._idle.put(slot)
        self._lock = threading.Lock()
        self._closed = False
        self.created = 0  # worker processes started (for status, tests and benchmarks)
        self.recycled = 0
        self.killed = 0
        _RUNNERS.add(self)

    @property
    def live(self) -> int:
        return sum(1 for s in self._slots if s.proc is not None and s.proc.is_alive())

    def worker_pids(self) -> list[int]:
        return [s.proc.pid for s in self._slots if s.proc is not None and s.proc.pid]

    def run(self, job: Job, timeout_s: float) -> Any:
        """Run ``job`` on a free worker; kill the worker when it outlives ``timeout_s``."""
        try:
            slot = self._idle.get(timeout=timeout_s)
        except queue.Empty:
            raise RetryableError(f"no TqSdk worker became free within {timeout_s:g} s") from None
        try:
            return self._run_on(slot, job, timeout_s)
        finally:
            self._idle.put(slot)

    def _run_on(self, slot: _Slot, job: Job, timeout_s: float) -> Any:
        if self._closed:
            raise RetryableError("the TqSdk source is closed")
        self._prune_slot(slot)
        conn = self._start(slot)
        try:
            conn.send(job)
            answered = conn.poll(timeout_s)
            reply = conn.recv() if answered else None
        except (EOFError, OSError) as exc:
            self._kill(slot, f"worker died during {job}: {type(exc).__name__}")
            raise RetryableError(f"the TqSdk worker running {job} died") from None
        if reply is None:
            self._kill(slot, f"{job} outlived {timeout_s:g} s")
            raise RetryableError(
                f"TqSdk did not finish {job} within {timeout_s:g} s (its worker was stopped)"
            )
        kind, payload, worker_mb = reply
        if kind == "error":
            assert isinstance(payload, GhtraderError)
            raise payload
        slot.days += 1
        if slot.days >= self._recycle_days or 0 < self._recycle_mb <= worker_mb:
            log.info(
                "recycling TqSdk worker %d after %d days, %.0f MB", slot.index, slot.days, worker_mb
            )
            self._stop(slot)
            self.recycled += 1
        return decode(kind, payload)

    def _start(self, slot: _Slot) -> Connection:
        if slot.proc is not None and slot.conn is not None and slot.proc.is_alive():
            return slot.conn
        if slot.proc is not None:
            self._kill(slot, "worker found dead")
        ours, theirs = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(
            target=worker_main,
            args=(theirs, self._factory.with_cache_dir(slot.cache_dir), self._user, self._transfer),
            name=f"tqsdk-worker-{slot.index}",
            daemon=True,
        )
        proc.start()
        theirs.close()
        slot.proc, slot.conn, slot.days = proc, ours, 0
        with self._lock:
            self.created += 1
        try:
            ready = ours.poll(STARTUP_TIMEOUT_S) and ours.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._kill(slot, "did not start")
            raise RetryableError(f"a TqSdk worker did not start within {STARTUP_TIMEOUT_S:g} s")
        return ours

    def _stop(self, slot: _Slot) -> None:
        """Ask the worker to close its TqApi and exit; kill it if it does not in time."""
        if slot.proc is None or slot.conn is None:
            return
        with contextlib.suppress(OSError, ValueError):
            slot.conn.send(None)
        slot.proc.join(self._close_timeout_s)
        if slot.proc.is_alive():
            self._kill(slot, "did not stop in time")
            return
        slot.conn.close()
        slot.proc, slot.conn, slot.days = None, None, 0

    def _kill(self, slot: _Slot, why: str) -> None:
        """SIGKILL the worker and delete its cache directory (locks, half-written series)."""
        log.warning("killing TqSdk worker %d: %s", slot.index, why)
        if slot.proc is not None:
            slot.proc.kill()
            slot.proc.join(self._close_timeout_s)
        if slot.conn is not None:
            slot.conn.close()
        slot.proc, slot.conn, slot.days = None, None, 0
        slot.to_prune.clear()
        wipe_cache(slot.cache_dir)
        with self._lock:
            self.killed += 1

    def kill_all(self) -> None:
        self._closed = True
        for slot in self._slots:
            if slot.proc is not None:
                slot.proc.kill()
                slot.proc.join(self._close_timeout_s)

    # -- cache ------------------------------------------------------------------------------
    def prune(self, contract: str) -> None:
        """Drop ``contract``'s cache in every worker's directory, each when its worker is idle."""
        with self._lock:
            for slot in self._slots:
                slot.to_prune.add(contract)

    def _prune_slot(self, slot: _Slot) -> None:
        with self._lock:
            pending, slot.to_prune = slot.to_prune, set()
        for contract in pending:
            prune_cache(slot.cache_dir, contract)

    def close(self, timeout_s: float) -> None:
        """Stop every worker (killing one still busy after ``timeout_s``), then prune."""
        self._closed = True
        held: list[_Slot] = []
        for _ in self._slots:
            try:
                held.append(self._idle.get(timeout=timeout_s))
            except queue.Empty:
                break
        for slot in self._slots:
            if slot in held:
                self._stop(slot)
            else:
                self._kill(slot, "still busy at close")
            self._prune_slot(slot)
        for slot in held:
            self._idle.put(slot)
