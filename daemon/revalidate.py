"""Incremental re-validation of stored days: only what is new, changed or judged by an
older validator; ``full`` redoes everything.

Which days are due is one store query over checkpoints and validation summaries
(fingerprints and validator versions), never a scan of ticks, so a run with nothing to do
costs one query. Due days are read back from the store and validated by ``concurrency``
workers (validation in worker threads); results go through a bounded stream to one writer
that stores them in batches of ``batch_days``, each batch one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import partial
from typing import Any

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.records import Checkpoint, DayStatus
from ghtrader_core.store.base import ValidationStore, ValidationWrite
from ghtrader_core.validation import VALIDATOR_VERSION, Thresholds, validate_day

log = structlog.get_logger("ghtraderd.validate")


@dataclass
class RevalidationSummary:
    """What ``validate`` did: verdicts of stored days, not days fetched, so its counters
    are its own (``RunCounts`` is the ingest run's). ``as_dict`` is ``validate --json``:
    every field, in order, with the validator version before the failed days."""

    due: int = 0
    validated: int = 0
    ok: int = 0
    warn: int = 0
    fail: int = 0
    rows: int = 0
    wall_s: float = 0.0
    failed_days: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        failed = out.pop("failed_days")
        return {**out, "validator_version": VALIDATOR_VERSION, "failed_days": failed}

    def count(self, write: ValidationWrite, rows: int) -> None:
        self.validated += 1
        self.rows += rows
        status = write.validation.status
        if status is DayStatus.OK:
            self.ok += 1
        elif status is DayStatus.WARN:
            self.warn += 1
        else:
            self.fail += 1
            self.failed_days.append(
                {
                    "symbol": write.symbol,
                    "trading_day": write.trading_day.isoformat(),
                    "checks": sorted(
                        {f.check for f in write.validation.findings if f.severity == "error"}
                    ),
                }
            )


async def revalidate(
    store: ValidationStore,
    calendar: TradingCalendar,
    thresholds: Thresholds,
    symbols: Sequence[str],
    start: date,
    end: date,
    *,
    full: bool = False,
    concurrency: int = 4,
    batch_days: int = 32,
) -> RevalidationSummary:
    started = time.perf_counter()
    due = await store.validation_due(symbols, start, end, VALIDATOR_VERSION, full=full)
    summary = RevalidationSummary(due=len(due))
    log.info("validation_due", days=len(due), full=full, start=str(start), end=str(end))
    if due:
        pending = iter(due)
        send, receive = anyio.create_memory_object_stream[tuple[ValidationWrite, int]](concurrency)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_write, store, receive, summary, batch_days)
            async with send:
                for _ in range(min(concurrency, len(due))):
                    tg.start_soon(_work, store, calendar, thresholds, pending, send.clone())
    summary.wall_s = round(time.perf_counter() - started, 4)
    log.info(
        "validation_done", **{k: v for k, v in summary.as_dict().items() if k != "failed_days"}
    )
    return summary


async def _work(
    store: ValidationStore,
    calendar: TradingCalendar,
    thresholds: Thresholds,
    pending: Iterator[Checkpoint],
    send: MemoryObjectSendStream[tuple[ValidationWrite, int]],
) -> None:
    """Take the next due day until none is left: read it back, validate it, pass it on."""
    async with send:
        for cp in pending:  # one event loop: taking the next item needs no lock
            ticks = await store.read_day(cp.symbol, cp.trading_day)

            check = partial(
                validate_day,
                ticks,
                symbol=cp.symbol,
                trading_day=cp.trading_day,
                calendar=calendar,
                thresholds=thresholds,
            )
            verdict = await anyio.to_thread.run_sync(check)
            write = ValidationWrite(cp.symbol, cp.trading_day, cp.fingerprint, verdict)
            await send.send((write, len(ticks)))


async def _write(
    store: ValidationStore,
    receive: MemoryObjectReceiveStream[tuple[ValidationWrite, int]],
    summary: RevalidationSummary,
    batch_days: int,
) -> None:
    batch: list[ValidationWrite] = []
    async with receive:
        async for write, rows in receive:
            batch.append(write)
            summary.count(write, rows)
            if len(batch) >= batch_days:
                await store.write_validations(batch)
                batch = []
    if batch:
        await store.write_validations(batch)
