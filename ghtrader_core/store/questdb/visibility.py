"""Waiting until QuestDB has applied what was written, before anything is checkpointed.

A WAL write is durable once the sequencer has it (``flush()`` returned), but rows become
visible only when the apply job catches up: 1.5-40 ms usually, longer under load, never
while the table is suspended. ``wait_applied`` reads ``wal_tables()`` once after the write
to learn each table's sequencer transaction, then polls until the writer has reached it
(``writerTxn >= sequencerTxn`` as of the write: later writes by others do not hold us up),
with a deadline. A suspended table is logged as an error and raised as
``StoreUnavailableError`` (the sink keeps retrying; nothing is dropped) with the SQL that
resumes it; a deadline passed is a ``RetryableError``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import anyio

from ghtrader_core.errors import RetryableError, StoreUnavailableError

log = logging.getLogger("ghtraderd.questdb")


@dataclass(frozen=True)
class WalState:
    table: str
    suspended: bool
    writer_txn: int
    sequencer_txn: int


class WalTableSuspendedError(StoreUnavailableError):
    """QuestDB stopped applying a table's WAL: rows are kept but stay invisible."""


class VisibilityTimeoutError(RetryableError):
    """QuestDB did not apply the rows within the wait; the write is re-sent (idempotent)."""


def _suspended(state: WalState) -> WalTableSuspendedError:
    message = (
        f"QuestDB WAL table {state.table!r} is SUSPENDED (writerTxn {state.writer_txn}, "
        f"sequencerTxn {state.sequencer_txn}): its rows are durable but not applied. "
        f"See the QuestDB log for the cause, then run: ALTER TABLE {state.table} RESUME WAL"
    )
    log.error(message)
    return WalTableSuspendedError(message)


async def read_targets(
    read: Callable[[], Awaitable[dict[str, WalState]]], tables: Collection[str]
) -> dict[str, int]:
    """Each table's sequencer txn now: read right after a flush, what that flush must
    reach before its rows are visible (later writes by others do not hold us up)."""
    if not tables:
        return {}
    states = await read()
    missing = [t for t in tables if t not in states]
    if missing:
        raise RetryableError(f"QuestDB wal_tables() does not list {missing}")
    return {t: states[t].sequencer_txn for t in tables}


async def wait_applied(
    read: Callable[[], Awaitable[dict[str, WalState]]],
    tables: Collection[str],
    *,
    timeout_s: float,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_poll_s: float = 0.002,
    max_poll_s: float = 0.1,
    targets: dict[str, int] | None = None,
) -> int:
    """Return once every table in ``tables`` is applied up to its sequencer txn as of
    the write (``targets``; read now when not given).

    Returns the number of ``wal_tables()`` reads it took (for tests and metrics).
    """
    if not tables:
        return 0
    deadline = clock() + timeout_s
    states = await read()
    missing = [t for t in tables if t not in states]
    if missing:
        raise RetryableError(f"QuestDB wal_tables() does not list {missing}")
    if targets is None:
        targets = {t: states[t].sequencer_txn for t in tables}
    reads, poll = 1, first_poll_s
    while True:
        pending = []
        for table in tables:
            state = states[table]
            if state.writer_txn >= targets[table]:
                continue
            if state.suspended:
                raise _suspended(state)
            pending.append(state)
        if not pending:
            return reads
        if clock() >= deadline:
            lag = ", ".join(
                f"{s.table} writerTxn {s.writer_txn} < {targets[s.table]}" for s in pending
            )
            raise VisibilityTimeoutError(
                f"QuestDB did not apply the write within {timeout_s:g} s ({lag})"
            )
        await sleep(poll)
        poll = min(max_poll_s, poll * 2)
        states = await read()
        reads += 1
