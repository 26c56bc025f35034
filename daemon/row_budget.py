"""A weighted semaphore counted in rows and bytes: what bounds the sink's memory.

The sink's queue is bounded in days, but a day can be ten rows or two million, and a row
of an L5 day is ~235 bytes in memory (29 numeric columns, the keys as categoricals); so a
fetched day must also take its rows and its bytes from a ``RowBudget`` before it enters
the queue, and gives them back once the sink has made it durable (or recorded it as
failed). Rows and bytes held by the queue, the batch being built and the batches in flight
thus never exceed either limit, except for one day larger than the whole budget, which
passes alone (never a deadlock). Waiters are served in arrival order, so a large day is
not starved by small ones slipping past it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio


@dataclass(eq=False)
class _Waiter:
    key: object
    rows: int
    nbytes: int
    granted: anyio.Event = field(default_factory=anyio.Event)


class RowBudget:
    """``acquire(key, n, b)`` waits until ``n`` more rows and ``b`` more bytes fit (or
    nothing is held) and holds them for ``key``; ``release(key)`` gives back exactly what
    that key took. ``limit_bytes=None``: rows only.

    What a holder gives back is what it took, never a figure computed again at release: a
    frame that changed in between would otherwise leave bytes behind, and once the leaked
    bytes alone fill the budget no day fits and none passes alone (a silent deadlock).
    """

    def __init__(self, limit: int, limit_bytes: int | None = None) -> None:
        if limit < 1:
            raise ValueError("a row budget needs at least one row")
        if limit_bytes is not None and limit_bytes < 1:
            raise ValueError("a byte budget needs at least one byte")
        self.limit = limit
        self.limit_bytes = limit_bytes
        # id(key) -> (key, rows, bytes); the key is kept so its id cannot be reused. The
        # only record of what is held: ``used`` and ``used_bytes`` are summed from it (a
        # dozen or so holders), so no counter can drift from the holds.
        self._held: dict[int, tuple[object, int, int]] = {}
        self._queue: deque[_Waiter] = deque()
        # Called when an acquirer has to wait: the sink flushes what it has rather than
        # wait for more days that cannot come until it does.
        self.on_starved: Callable[[], None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def holders(self) -> int:
        return len(self._held)

    @property
    def used(self) -> int:
        return sum(rows for _, rows, _ in self._held.values())

    @property
    def used_bytes(self) -> int:
        return sum(nbytes for _, _, nbytes in self._held.values())

    def _fits(self, rows: int, nbytes: int) -> bool:
        if not self._held:
            return True
        if self.used + rows > self.limit:
            return False
        return self.limit_bytes is None or self.used_bytes + nbytes <= self.limit_bytes

    def _take(self, key: object, rows: int, nbytes: int) -> None:
        self._held[id(key)] = (key, rows, nbytes)

    async def acquire(self, key: object, rows: int, nbytes: int = 0) -> None:
        if id(key) in self._held:
            raise RuntimeError("this key already holds part of the budget")
        rows, nbytes = max(0, rows), max(0, nbytes)
        if not self._queue and self._fits(rows, nbytes):
            self._take(key, rows, nbytes)
            return
        waiter = _Waiter(key, rows, nbytes)
        self._queue.append(waiter)
        if self.on_starved is not None:
            self.on_starved()
        try:
            await waiter.granted.wait()
        except BaseException:
            if waiter.granted.is_set():  # granted, then cancelled: give it back
                self.release(key)
            else:
                self._queue.remove(waiter)
                self._grant()  # the head may have left: the next one may fit now
            raise

    def release(self, key: object) -> None:
        """Give back what ``key`` took (nothing if it holds nothing)."""
        self._held.pop(id(key), None)
        self._grant()

    def _grant(self) -> None:
        while self._queue and self._fits(self._queue[0].rows, self._queue[0].nbytes):
            waiter = self._queue.popleft()
            self._take(waiter.key, waiter.rows, waiter.nbytes)
            waiter.granted.set()
