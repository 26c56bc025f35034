"""The protocol every tick source satisfies.

``fetch_day`` is blocking and is only ever called from worker threads (TqSdk runs its own
event loop and refuses a running one), so a source may keep per-thread state. It returns
the day normalised to the tick schema, or raises one of ``ghtrader_core.errors``.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from ghtrader_core.symbols import MainSymbol
from ghtrader_core.ticks import DayFrame


@runtime_checkable
class TickSource(Protocol):
    name: str

    def fetch_day(self, symbol: MainSymbol, trading_day: date) -> DayFrame:
        """Ticks of ``symbol`` on ``trading_day`` (night session included). Blocking."""
        ...

    def close(self) -> None:
        """Release what the source holds (connections, per-thread clients)."""
        ...
