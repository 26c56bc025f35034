"""Optional capabilities a source may have beyond ``TickSource``, checked by shape.

The daemon looks for these with ``isinstance`` (the protocols are runtime-checkable), so a
source that needs a main-contract schedule or keeps a disk cache says so by having the
methods, and the pipeline needs no switch on the source's kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable


@runtime_checkable
class NeedsSchedule(Protocol):
    """A source that resolves ``KQ.m@…`` to the underlying contract of each trading day.

    The daemon reads the stored schedule (``main_schedule`` table) and hands it over with
    ``use_schedule``; when the stored one does not cover the planned days it calls the
    blocking ``fetch_schedule`` in a worker thread, stores what comes back, hands it over.
    """

    def use_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None: ...

    def fetch_schedule(
        self, symbols: Sequence[str], start: date
    ) -> dict[str, list[tuple[date, str]]]: ...


@runtime_checkable
class KeepsCache(Protocol):
    """A source with a disk cache it may prune once a day is durable in the store.

    ``day_durable`` is called on the event loop and must not block: it only notes the day;
    the source prunes later on one of its own threads.
    """

    def day_durable(self, symbol: str, trading_day: date) -> None: ...
