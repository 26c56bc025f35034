"""The async batching sink: a bounded queue in, durable batches and checkpoints out.

Downloads ``send`` whole days into a memory stream of ``queue_days`` slots; when the store
is slow or down the stream fills and senders wait (backpressure, bounded memory). The sink
gathers days until ``flush_rows`` rows, ``flush_days`` days or ``flush_interval_s`` after
the first one, then writes them in ascending day order; transient store errors are retried
with backoff and without limit (nothing is dropped), and only after the store has the
batch are its checkpoints written. A batch the store refuses outright is split and retried
day by day, so one bad day is recorded as failed and the others go on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Self

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from daemon.config import SinkConfig
from daemon.events import Observer, StoredDay
from daemon.retry import RetryPolicy, call_with_retry
from ghtrader_core.errors import FatalError
from ghtrader_core.records import Checkpoint, FailedDay, ManifestEntry
from ghtrader_core.store.base import DayWrite, Store
from ghtrader_core.ticks import TICK_COLUMNS

log = structlog.get_logger("ghtraderd.sink")
SCHEMA_HASH = hashlib.sha256(",".join(TICK_COLUMNS).encode()).hexdigest()[:12]


class BatchingSink:
    def __init__(
        self,
        store: Store,
        config: SinkConfig,
        observer: Observer,
        *,
        run_id: str,
        source_name: str,
        code_version: str,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.store = store
        self.config = config
        self.observer = observer
        self.run_id = run_id
        self.source_name = source_name
        self.code_version = code_version
        self._sleep = sleep
        self._send: MemoryObjectSendStream[DayWrite]
        self._receive: MemoryObjectReceiveStream[DayWrite]
        self._send, self._receive = anyio.create_memory_object_stream[DayWrite](config.queue_days)

    def reconfigure(self, config: SinkConfig) -> None:
        """Apply new batch sizes to the next batch (the queue keeps its size)."""
        self.config = config

    @property
    def queue_depth(self) -> int:
        return self._receive.statistics().current_buffer_used

    def sender(self) -> MemoryObjectSendStream[DayWrite]:
        """A send handle; the sink ends once every handle (and the original) is closed."""
        return self._send.clone()

    def close_input(self) -> None:
        self._send.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._send.close()

    async def run(self) -> None:
        """Consume until every sender is closed, then flush what is left."""
        batch: list[DayWrite] = []
        rows = 0
        deadline = float("inf")
        async with self._receive:
            while True:
                timeout = max(0.0, deadline - anyio.current_time())
                item: DayWrite | None = None
                ended = False
                with anyio.move_on_after(timeout):
                    try:
                        item = await self._receive.receive()
                    except anyio.EndOfStream:
                        ended = True
                self.observer.queue_depth(self.queue_depth)
                if item is not None:
                    if not batch:
                        deadline = anyio.current_time() + self.config.flush_interval_s
                    batch.append(item)
                    rows += item.day.rows
                full = rows >= self.config.flush_rows or len(batch) >= self.config.flush_days
                if batch and (ended or full or anyio.current_time() >= deadline):
                    await self.flush(batch)
                    batch, rows, deadline = [], 0, float("inf")
                if ended:
                    return

    async def flush(self, batch: list[DayWrite]) -> None:
        batch = sorted(batch, key=lambda d: (d.day.trading_day, d.day.symbol))
        started = time.perf_counter()
        # Cancelling here is safe: a day without its checkpoint is simply re-done later.
        written = await self._write(batch)
        if written:
            await self._checkpoint(written)
        seconds = time.perf_counter() - started
        nrows = sum(d.day.rows for d in written)
        self.observer.batch_flushed(len(written), nrows, seconds)
        for d in written:
            self.observer.day_done(
                StoredDay(d.day.symbol, d.day.trading_day, d.day.rows, _nbytes(d), d.validation)
            )
        log.info(
            "flushed",
            days=len(written),
            rows=nrows,
            seconds=round(seconds, 3),
            queue=self.queue_depth,
        )

    def _policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=0, base_s=self.config.retry_base_s, max_s=self.config.retry_max_s
        )

    async def _write(self, batch: list[DayWrite]) -> list[DayWrite]:
        """Write the batch; on a permanent refusal isolate the bad days. Returns the good."""
        try:
            await call_with_retry(
                lambda: self.store.write_days(batch),
                self._policy(),
                what="store.write_days",
                sleep=self._sleep,
            )
            return batch
        except FatalError:
            raise  # bad credentials, a schema conflict: no day can succeed, stop the process
        except Exception as exc:  # not retryable: the store refused (part of) the batch
            if len(batch) == 1:
                await self._record_failed(batch[0], exc)
                return []
            log.warning("batch_refused_splitting", days=len(batch), error=str(exc))
            good: list[DayWrite] = []
            for day in batch:
                good.extend(await self._write([day]))
            return good

    async def _record_failed(self, day: DayWrite, exc: BaseException) -> None:
        reason = f"store refused the day: {type(exc).__name__}: {exc}"
        log.error(
            "day_write_failed",
            symbol=day.day.symbol,
            trading_day=str(day.day.trading_day),
            error=reason,
        )
        self.observer.day_failed(day.day.symbol, day.day.trading_day, reason, True)
        failed = FailedDay(day.day.symbol, day.day.trading_day, reason, True, 1, _now())
        await call_with_retry(
            lambda: self.store.record_failed([failed]),
            self._policy(),
            what="store.record_failed",
            sleep=self._sleep,
        )

    async def _checkpoint(self, written: list[DayWrite]) -> None:
        now = _now()
        cps = [
            Checkpoint(
                symbol=d.day.symbol,
                trading_day=d.day.trading_day,
                contract=d.day.contract,
                rows=d.day.rows,
                fingerprint=d.fingerprint,
                validator_version=d.validation.validator_version if d.validation else 0,
                status=str(d.validation.status) if d.validation else "unvalidated",
                written_at=now,
            )
            for d in written
        ]
        manifest = [
            ManifestEntry(
                self.run_id,
                d.day.symbol,
                d.day.trading_day,
                d.day.contract,
                d.day.rows,
                d.fingerprint,
                self.source_name,
                SCHEMA_HASH,
                self.code_version,
            )
            for d in written
        ]
        await call_with_retry(
            lambda: self.store.write_checkpoints(cps, manifest),
            self._policy(),
            what="store.write_checkpoints",
            sleep=self._sleep,
        )


def _nbytes(write: DayWrite) -> int:
    """In-memory size of the day's tick columns: the bytes-ingested figure (cheap, no copy)."""
    return int(write.day.ticks.memory_usage(index=False, deep=False).sum())


def _now() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)
