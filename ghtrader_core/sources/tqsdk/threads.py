"""TqApi instances on threads of this process: the fallback runner (and the unit tests').

TqSdk runs a private event loop and a ``TqApi`` is not thread-safe and must be closed on the
thread that made it, so each of ``size`` threads owns at most one ``TqApi``, reuses it day
after day (giving back each day's ticks, ``release.py``), drops it after an error or
``recycle_after_days`` days, and closes it itself.
Threads share the GIL, so this does not scale with cores (see ``workers.py``), and a
download past its deadline cannot be stopped: its thread runs on and keeps the contract's
lock. One contract is never downloaded by two threads at once (TqSdk's cache takes a
blocking file lock per symbol).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from ghtrader_core.errors import RetryableError
from ghtrader_core.sources.tqsdk.api import ApiFactory, Job, TicksJob, TqApiLike
from ghtrader_core.sources.tqsdk.cache import prune_cache
from ghtrader_core.sources.tqsdk.errors import classify
from ghtrader_core.sources.tqsdk.release import Session

log = logging.getLogger("ghtraderd.tqsdk")
_Item = tuple[Job, "Future[Any]"]


class ApiPool:
    """``size`` threads, each owning at most one TqApi: the cap on live instances."""

    def __init__(self, factory: ApiFactory, size: int, recycle_after_days: int) -> None:
        self._factory = factory
        self._size = size
        self._recycle = recycle_after_days
        self._jobs: queue.Queue[_Item | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._live = 0
        self._closed = False
        self.created = 0  # TqApi instances made so far (for status and tests)

    @property
    def live(self) -> int:
        with self._lock:
            return self._live

    def submit(self, job: Job) -> Future[Any]:
        fut: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RetryableError("the TqSdk source is closed")
            if not self._threads:
                for i in range(self._size):
                    t = threading.Thread(target=self._work, name=f"tqsdk-{i}", daemon=True)
                    t.start()
                    self._threads.append(t)
        self._jobs.put((job, fut))
        return fut

    def _work(self) -> None:
        session = Session(self._make, close=self._drop)
        days = 0
        while True:
            item = self._jobs.get()
            if item is None:
                break
            job, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            if session.api is None:
                days = 0
            try:
                result = session.run(job)
            except BaseException as exc:  # a failed TqApi is not trusted again
                session.drop()
                fut.set_exception(exc)
                continue
            days += 1
            if days >= self._recycle:
                session.drop()
            fut.set_result(result)
        session.drop()

    def _make(self) -> TqApiLike:
        api = self._factory()
        with self._lock:
            self._live += 1
            self.created += 1
        return api

    def _drop(self, api: TqApiLike | None) -> None:
        if api is None:
            return
        try:
            api.close()
        except Exception as exc:  # closing a broken connection may fail; it is gone anyway
            log.warning("TqApi close failed: %s: %s", type(exc).__name__, exc)
        with self._lock:
            self._live -= 1

    def close(self, timeout_s: float) -> None:
        """Each thread closes its own TqApi; a thread stuck in TqSdk is left (daemon)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout_s
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


class ThreadRunner:
    """Runs jobs on an ``ApiPool``: per-contract locks, a deadline, the shared cache."""

    def __init__(
        self, factory: ApiFactory, size: int, recycle_after_days: int, cache_dir: Path, user: str
    ) -> None:
        self._pool = ApiPool(factory, size, recycle_after_days)
        self._cache_dir = cache_dir
        self._user = user
        self._lock = threading.Lock()
        self._contract_locks: dict[str, threading.Lock] = {}
        self._to_prune: set[str] = set()

    @property
    def live(self) -> int:
        return self._pool.live

    @property
    def created(self) -> int:
        return self._pool.created

    def run(self, job: Job, timeout_s: float) -> Any:
        if not isinstance(job, TicksJob):
            return self._wait(self._pool.submit(job), job, timeout_s)
        lock = self._contract_lock(job.contract)
        if not lock.acquire(timeout=timeout_s):
            raise RetryableError(f"{job.contract} stayed busy in another download")
        try:
            self._prune(holding=job.contract)
            fut = self._pool.submit(job)
        except BaseException:
            lock.release()
            raise
        fut.add_done_callback(lambda _f: lock.release())
        return self._wait(fut, job, timeout_s)

    def _wait(self, fut: Future[Any], job: Job, timeout_s: float) -> Any:
        try:
            return fut.result(timeout=timeout_s)
        except FutureTimeout:
            fut.cancel()
            raise RetryableError(f"TqSdk did not finish {job} within {timeout_s:g} s") from None
        except Exception as exc:
            raise classify(exc, user=self._user) from exc

    def _contract_lock(self, contract: str) -> threading.Lock:
        with self._lock:
            return self._contract_locks.setdefault(contract, threading.Lock())

    def prune(self, contract: str) -> None:
        with self._lock:
            self._to_prune.add(contract)

    def _prune(self, holding: str | None = None) -> None:
        with self._lock:
            pending = list(self._to_prune)
        for contract in pending:
            lock = None if contract == holding else self._contract_lock(contract)
            if lock is not None and not lock.acquire(blocking=False):
                continue  # being downloaded now: prune next time
            try:
                removed = prune_cache(self._cache_dir, contract)
                with self._lock:
                    self._to_prune.discard(contract)
                if removed:
                    log.debug("pruned %d TqSdk cache files of %s", removed, contract)
            finally:
                if lock is not None:
                    lock.release()

    def close(self, timeout_s: float) -> None:
        self._pool.close(timeout_s)
        self._prune()
