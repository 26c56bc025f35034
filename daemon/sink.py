"""The async batching sink: a bounded queue in, durable batches and checkpoints out.

Downloads ``send`` whole days into a memory stream of ``queue_days`` slots; when the store
is slow or down the stream fills and senders wait (backpressure, bounded memory). A day
also takes its rows and its in-memory bytes from a ``RowBudget`` of ``queue_rows`` rows
and ``queue_mb`` MB before it is queued and gives them back once durable or failed, so
memory is bounded in bytes, not only in days. The sink
gathers days until ``flush_rows`` rows, ``flush_days`` days or ``flush_interval_s`` after
the first one, then writes them in ascending day order; transient store errors are retried
with backoff and without limit (nothing is dropped), and only after the store has the
batch (and, on QuestDB, a reader can see it) are its checkpoints written, in batch order;
on QuestDB the next batch is sent while the previous one is being applied. A batch the
store refuses outright is split and retried day by day, so one bad day is recorded as
failed and the others go on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from daemon.config import SinkConfig
from daemon.events import Observer, StoredDay
from daemon.retry import RetryPolicy, call_with_retry
from daemon.row_budget import RowBudget
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, naive_utc
from ghtrader_core.errors import FatalError, RetryableError
from ghtrader_core.records import Checkpoint, FailedDay, ManifestEntry
from ghtrader_core.store.base import DayWrite, Store
from ghtrader_core.ticks import TICK_COLUMNS

log = structlog.get_logger("ghtraderd.sink")


@runtime_checkable
class StagedStore(Protocol):
    """A store whose write has two halves the sink may overlap (QuestDB): ``send_days``
    makes the rows durable and returns a ticket; ``wait_visible(ticket)`` returns once a
    reader sees them. Only after the second may the days be checkpointed."""

    async def send_days(self, days: Sequence[DayWrite]) -> Any: ...

    async def wait_visible(self, ticket: Any) -> None: ...

    @property
    def send_concurrency(self) -> int:
        """How many batches it can send at once (QuestDB: its ILP sender threads)."""
        ...


@dataclass
class _InFlight:
    """A batch sent (or being sent) and not yet checkpointed."""

    batch: list[DayWrite]
    started: float = field(default_factory=time.perf_counter)
    done: anyio.Event = field(default_factory=anyio.Event)
    ticket: Any = None
    refused: BaseException | None = None


@dataclass(eq=False)
class BudgetedSender(MemoryObjectSendStream[DayWrite]):
    """The sink's send handle: a day takes its rows from the budget before it is queued.

    The rows go back when the sink has made the day durable or recorded it as failed
    (``BatchingSink._release``), or here if the send itself does not happen. A subclass
    of anyio's stream (sharing its state) so the downloader keeps its plain stream type.
    """

    budget: RowBudget | None = None

    async def send(self, item: DayWrite) -> None:
        if self.budget is None:
            await super().send(item)
            return
        await self.budget.acquire(item, item.day.rows, _nbytes(item))
        try:
            await super().send(item)
        except BaseException:
            self.budget.release(item)
            raise

    def clone(self) -> BudgetedSender:
        if self._closed:
            raise anyio.ClosedResourceError
        return BudgetedSender(_state=self._state, budget=self.budget)


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
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.observer = observer
        self.run_id = run_id
        self.source_name = source_name
        self.code_version = code_version
        self._sleep = sleep
        self._send: MemoryObjectSendStream[DayWrite]
        self._receive: MemoryObjectReceiveStream[DayWrite]
        self.budget = RowBudget(config.queue_rows, config.queue_mb * 2**20)
        plain, self._receive = anyio.create_memory_object_stream[DayWrite](config.queue_days)
        self._send = BudgetedSender(_state=plain._state, budget=self.budget)
        plain.close()  # the budgeted handle above holds the stream open instead

    def reconfigure(self, config: SinkConfig) -> None:
        """Apply new batch sizes to the next batch (the queue and row budget keep theirs)."""
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
        """Consume until every sender is closed, then flush what is left.

        With a ``StagedStore`` the batches are pipelined: batch k+1 is built, encoded
        and flushed while QuestDB applies batch k, and checkpoints are still written
        only after their rows are visible, in batch order (``_complete``). Measured on
        the real server, the flush and the wait were each a third to a half of a batch.
        """
        if not isinstance(self.store, StagedStore):
            await self._consume(self.flush)
            return
        store = self.store
        # In flight: one batch waiting to become visible, and up to send_concurrency
        # being built, encoded and flushed (each on its own sender thread).
        slots_in, slots_out = anyio.create_memory_object_stream[_InFlight](
            max(0, store.send_concurrency - 1)
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._complete, store, slots_out)

            async def submit(batch: list[DayWrite]) -> None:
                slot = _InFlight(sorted(batch, key=lambda d: (d.day.trading_day, d.day.symbol)))
                tg.start_soon(self._send_slot, store, slot)
                await slots_in.send(slot)  # waits while the batch before is not yet done

            async with slots_in:
                await self._consume(submit)

    async def _consume(self, flush: Callable[[list[DayWrite]], Awaitable[None]]) -> None:
        batch: list[DayWrite] = []
        rows = 0
        deadline = float("inf")
        async with self._receive:
            while True:
                timeout = max(0.0, deadline - anyio.current_time())
                item: DayWrite | None = None
                ended = False
                with anyio.move_on_after(timeout) as scope:
                    # a sender short of rows cannot queue more until this batch is flushed
                    self.budget.on_starved = scope.cancel if batch else None
                    try:
                        item = await self._receive.receive()
                    except anyio.EndOfStream:
                        ended = True
                self.budget.on_starved = None
                self.observer.queue_depth(self.queue_depth)
                if item is not None:
                    if not batch:
                        deadline = anyio.current_time() + self.config.flush_interval_s
                    batch.append(item)
                    rows += item.day.rows
                full = (
                    rows >= self.config.flush_rows
                    or len(batch) >= self.config.flush_days
                    or self.budget.waiting > 0
                )
                if batch and (ended or full or anyio.current_time() >= deadline):
                    await flush(batch)
                    batch, rows, deadline = [], 0, float("inf")
                if ended:
                    return

    async def _send_slot(self, store: StagedStore, slot: _InFlight) -> None:
        """Make the batch durable (retrying transient errors without limit). A refusal is
        kept for ``_complete``, which isolates the bad days in order."""
        try:
            slot.ticket = await call_with_retry(
                lambda: store.send_days(slot.batch),
                self._policy(),
                what="store.send_days",
                sleep=self._sleep,
            )
        except FatalError:
            raise
        except Exception as exc:
            slot.refused = exc
        finally:
            slot.done.set()

    async def _complete(
        self, store: StagedStore, slots: MemoryObjectReceiveStream[_InFlight]
    ) -> None:
        """In batch order: wait until the batch is visible, then checkpoint it."""
        async with slots:
            async for slot in slots:
                await slot.done.wait()
                written = slot.batch
                if slot.refused is not None:
                    written = await self._write(slot.batch)
                else:
                    try:
                        await store.wait_visible(slot.ticket)
                    except RetryableError as exc:  # suspended or slow: re-send, wait again
                        log.warning("batch_not_visible_resending", error=str(exc))
                        written = await self._write(slot.batch)
                if written:
                    await self._checkpoint(written)
                self._done(written, slot.started)
                self._release(slot.batch)

    async def flush(self, batch: list[DayWrite]) -> None:
        """Write one batch, wait until it is visible, checkpoint it: one after the other."""
        batch = sorted(batch, key=lambda d: (d.day.trading_day, d.day.symbol))
        started = time.perf_counter()
        # Cancelling here is safe: a day without its checkpoint is simply re-done later.
        written = await self._write(batch)
        if written:
            await self._checkpoint(written)
        self._done(written, started)
        self._release(batch)

    def _release(self, batch: list[DayWrite]) -> None:
        """Durable or recorded as failed: the batch's rows no longer count against the budget."""
        for write in batch:
            self.budget.release(write)

    def _done(self, written: list[DayWrite], started: float) -> None:
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
        at = naive_utc(self.clock)
        failed = FailedDay(day.day.symbol, day.day.trading_day, reason, True, 1, at)
        await call_with_retry(
            lambda: self.store.record_failed([failed]),
            self._policy(),
            what="store.record_failed",
            sleep=self._sleep,
        )

    async def _checkpoint(self, written: list[DayWrite]) -> None:
        now = naive_utc(self.clock)
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
                source=self.source_name,
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
    """In-memory size of the day's tick columns: the bytes-ingested figure and what the day
    weighs in the sink's byte budget (cheap, no copy)."""
    return int(write.day.ticks.memory_usage(index=False, deep=False).sum())

