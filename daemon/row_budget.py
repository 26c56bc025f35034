"""A weighted semaphore counted in rows: what bounds the sink's memory by configuration.

The sink's queue is bounded in days, but a day can be ten rows or two million; so a
fetched day must also take its rows from a ``RowBudget`` before it enters the queue, and
gives them back once the sink has made it durable (or recorded it as failed). Rows held
by the queue, the batch being built and the batches in flight thus never exceed the
budget, except for one day larger than the whole budget, which passes alone (never a
deadlock). Waiters are served in arrival order, so a large day is not starved by small
ones slipping past it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio


@dataclass(eq=False)
class _Waiter:
    rows: int
    granted: anyio.Event = field(default_factory=anyio.Event)


class RowBudget:
    """``acquire(n)`` waits until ``n`` more rows fit (or nothing is held); ``release(n)``."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a row budget needs at least one row")
        self.limit = limit
        self.used = 0
        self._queue: deque[_Waiter] = deque()
        # Called when an acquirer has to wait: the sink flushes what it has rather than
        # wait for more days that cannot come until it does.
        self.on_starved: Callable[[], None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def _fits(self, rows: int) -> bool:
        return self.used == 0 or self.used + rows <= self.limit

    async def acquire(self, rows: int) -> None:
        rows = max(0, rows)
        if not self._queue and self._fits(rows):
            self.used += rows
            return
        waiter = _Waiter(rows)
        self._queue.append(waiter)
        if self.on_starved is not None:
            self.on_starved()
        try:
            await waiter.granted.wait()
        except BaseException:
            if waiter.granted.is_set():  # granted, then cancelled: give the rows back
                self.release(rows)
            else:
                self._queue.remove(waiter)
                self._grant()  # the head may have left: the next one may fit now
            raise

    def release(self, rows: int) -> None:
        self.used = max(0, self.used - max(0, rows))
        self._grant()

    def _grant(self) -> None:
        while self._queue and self._fits(self._queue[0].rows):
            waiter = self._queue.popleft()
            self.used += waiter.rows
            waiter.granted.set()
