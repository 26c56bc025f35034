"""One store, one source: a day filled by another source is not "done" for this one.

After ``make demo`` a store full of synthetic ticks must not be taken for real TqSdk data.
Checkpoints record the source that filled each day; before planning, the days of the range
filled by another source stop the run with one line, unless the user asked to replace them
(``--replace-source``, or ``--force``), in which case they are planned again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ghtrader_core.errors import ConfigInvalidError
from ghtrader_core.store.base import Store


class SourceMixError(ConfigInvalidError):
    """The store holds days from another source (exit 78: point the config elsewhere)."""


async def foreign_days(
    store: Store,
    source: str,
    symbols: Sequence[str],
    start: date,
    end: date,
    *,
    replace: bool,
    store_name: str,
) -> list[tuple[str, date]]:
    """The (symbol, day)s in range another source filled; raises unless ``replace``."""
    checkpoints = await store.checkpoints(symbols, start, end)
    foreign = sorted(
        (key, cp.source)
        for key, cp in checkpoints.items()
        if cp.source is not None and cp.source != source
    )
    if foreign and not replace:
        others = sorted({s for _, s in foreign if s})
        (symbol, day), _ = foreign[0]
        raise SourceMixError(
            f"store {store_name} holds {len(foreign)} days filled by source "
            f"{', '.join(others)} (e.g. {symbol} on {day}), not by {source}: use another "
            f"store.path, or pass --replace-source to download them again from {source}"
        )
    return [key for key, _ in foreign]
