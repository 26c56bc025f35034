"""Give back what a ``TqApi`` keeps of a downloaded day, so one worker serves many days flat.

Attributed with tracemalloc and RSS against the stand-in (tqsdk 3.10.4, 55,801-tick L5 days,
see README "Memory of the real client"): a TqApi grew ~225 MB per day, held in two places,

* ``api._data["ticks"][contract]["data"]``: every tick of every chart it ever served, one
  ``Entity`` per tick (merged by ``_merge_diff``; the chart is released after the download,
  its ticks are not), ~150 MB per day;
* ``api._sync_diffs``: ``wait_update(_task=…)`` (what ``get_tick_data_series`` loops on)
  appends every received diff to it and only a plain ``wait_update()`` resets it, so the
  decoded JSON of every page stays referenced, ~75 MB per day.

Both are bookkeeping of TqSdk's in-memory mirror: the day's frame is read from the disk
cache (``DataSeries``), not from them. Dropping them after each day keeps a worker flat
(473 -> 535 MB over 8 days instead of 473 -> 2000). They are private attributes, so
``releasable`` checks their shape first; on any other tqsdk the worker does not touch them
and falls back to recycling by ``recycle_rss_mb`` / ``recycle_after_days``.

The market-data server sends a connection only what it believes the client lacks, so a
later request overlapping ids already sent (the next day of a contract starts with the
previous day's last tick) might arrive incomplete: ``DataSeries`` then stops at the first
missing id and returns no rows. The worker therefore treats an empty day on a TqApi that
has released a day as unproven and repeats it once on a fresh TqApi (``workers.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

import pandas as pd

from ghtrader_core.sources.tqsdk.api import ApiFactory, Job, TicksJob, TqApiLike

log = logging.getLogger("ghtraderd.tqsdk")


def releasable(api: Any) -> bool:
    """True when ``api`` has the private shape ``release_day`` relies on (tqsdk 3.10.4)."""
    data = getattr(api, "_data", None)
    if not isinstance(getattr(api, "_sync_diffs", None), list):
        return False
    if not isinstance(data, MutableMapping) or not hasattr(data, "_path"):
        return False
    ticks = data.get("ticks")
    return ticks is None or isinstance(ticks, MutableMapping)


def release_day(api: Any, contract: str) -> bool:
    """Drop ``api``'s in-memory ticks of ``contract`` and its accumulated diffs.

    Returns False (and changes nothing) when the shape is not the one this was written for.
    """
    if not releasable(api):
        return False
    from tqsdk.diff import _get_obj  # how TqSdk itself creates a node of its data tree

    api._sync_diffs = []
    ticks = api._data.get("ticks")
    if ticks is not None and contract in ticks:
        serial = ticks[contract]
        if isinstance(serial, MutableMapping) and "data" in serial:
            # ``del`` of the whole node: ``Entity.clear()`` is quadratic (it rebuilds a dict
            # of all keys for every key it pops).
            del serial["data"]
            _get_obj(api._data, ["ticks", contract, "data"])
    return True


class Session:
    """One TqApi of a worker (process or thread), made on first use; after each day it gives
    back what TqSdk keeps of it, so the TqApi serves many days flat instead of being
    recycled. ``close`` is how its owner closes (and counts) a TqApi."""

    def __init__(
        self, factory: ApiFactory, close: Callable[[TqApiLike | None], None]
    ) -> None:
        self._factory = factory
        self._close = close
        self.api: TqApiLike | None = None
        self.released = False  # this TqApi has dropped a day's ticks

    def run(self, job: Job) -> pd.DataFrame:
        frame: pd.DataFrame = job.run(self._api())
        if isinstance(job, TicksJob):
            if len(frame) == 0 and self.released:
                # the server may not resend ids it sent this connection before: an empty day
                # is only believed from a TqApi that never released one
                log.info("repeating %s on a fresh TqApi: empty after a released day", job)
                self.drop()
                frame = job.run(self._api())
            self.released = release_day(self.api, job.contract) or self.released
        return frame

    def _api(self) -> TqApiLike:
        if self.api is None:
            self.api = self._factory()
        return self.api

    def drop(self) -> None:
        api, self.api, self.released = self.api, None, False
        if api is not None:
            self._close(api)
