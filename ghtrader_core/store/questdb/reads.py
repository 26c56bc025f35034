"""The store's reads over PGWire: checkpoints, coverage, days, validation reports.

Apart from the writes (``store``) because they share nothing with ingest but the
connection: each is one registered query and a conversion of its rows. A mixin over
``pg``, the store's open client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from ghtrader_core.records import Checkpoint, CoverageRow, FailedDay
from ghtrader_core.store.base import DayPairs, GapRow, ValidationRow
from ghtrader_core.store.questdb import plan
from ghtrader_core.store.questdb import queries as q
from ghtrader_core.store.questdb import schema as schema
from ghtrader_core.store.questdb.frames import as_ts, checkpoint_row, ticks_from_rows
from ghtrader_core.store.questdb.pg import PgClient
from ghtrader_core.store.rows import (
    as_day,
    checkpoint_from,
    coverage_from,
    failed_from,
    gap_from,
    validation_row_from,
)

# A trading day's ticks lie between the evening before (Friday for Monday, night sessions
# end by 02:30 Beijing) and its own afternoon: this UTC window around the day prunes
# partitions; the trading_day filter then picks the exact rows.
DAY_WINDOW_BEFORE = timedelta(days=5)
DAY_WINDOW_AFTER = timedelta(days=1)


class QuestDBReads:
    @property
    def pg(self) -> PgClient:
        raise NotImplementedError  # the store's open client

    async def checkpointed_days(self, symbols: Sequence[str], start: date, end: date) -> DayPairs:
        return await plan.checkpointed_days(self.pg, symbols, start, end)

    async def checkpoints(
        self, symbols: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, date], Checkpoint]:
        wanted = set(symbols)
        rows = await self.pg.fetch(q.CHECKPOINTS_IN_RANGE, as_ts(start), as_ts(end))
        out: dict[tuple[str, date], Checkpoint] = {}
        for r in rows:
            if r[0] not in wanted:
                continue
            checkpoint = checkpoint_from(r)
            out[(checkpoint.symbol, checkpoint.trading_day)] = checkpoint
        if any(c.source is None for c in out.values()):
            by_fingerprint = {
                (str(r[0]), as_day(r[1]), str(r[2])): str(r[3])
                for r in await self.pg.fetch(q.MANIFEST_SOURCES, as_ts(start), as_ts(end))
                if r[3] is not None
            }
            for key, c in out.items():
                if c.source is None:
                    found = by_fingerprint.get((c.symbol, c.trading_day, c.fingerprint))
                    out[key] = replace(c, source=found)
        return out

    async def failed_days(self) -> list[FailedDay]:
        rows = await self.pg.fetch(q.FAILED_OPEN)
        return [failed_from(r) for r in rows]

    async def coverage(self) -> list[CoverageRow]:
        rows = await self.pg.fetch(q.COVERAGE)
        return [coverage_from(r, (d for d in str(r[5] or "").split(",") if d)) for r in rows]

    async def read_day(self, symbol: str, trading_day: date) -> pd.DataFrame:
        start = as_ts(trading_day) - DAY_WINDOW_BEFORE
        end = as_ts(trading_day) + DAY_WINDOW_AFTER
        rows = await self.pg.fetch(q.READ_DAY, start, end, symbol, as_ts(trading_day))
        return ticks_from_rows(rows)

    async def read_schedule(self, symbol: str) -> list[tuple[date, str]]:
        rows = await self.pg.fetch(q.READ_SCHEDULE, symbol)
        return [(as_day(r[0]), str(r[1])) for r in rows]

    # -- validation -------------------------------------------------------------------
    async def validation_due(
        self,
        symbols: Sequence[str],
        start: date,
        end: date,
        validator_version: int,
        *,
        full: bool = False,
    ) -> list[Checkpoint]:
        wanted = set(symbols)
        due: list[Checkpoint] = []
        for r in await self.pg.fetch(q.VALIDATION_STATE, as_ts(start), as_ts(end)):
            if r[0] not in wanted:
                continue
            checkpoint = checkpoint_row(r)
            summary_fingerprint, summary_version = r[8], r[9]
            if (
                full
                or summary_fingerprint is None
                or summary_fingerprint != checkpoint.fingerprint
                or int(summary_version or 0) < validator_version
                or checkpoint.validator_version < validator_version
            ):
                due.append(checkpoint)
        return sorted(due, key=lambda c: (c.trading_day, c.symbol))

    async def validation_rows(
        self, symbols: Sequence[str], start: date, end: date
    ) -> list[ValidationRow]:
        wanted = set(symbols)
        lo, hi = as_ts(start), as_ts(end)
        state = [r for r in await self.pg.fetch(q.VALIDATION_STATE, lo, hi) if r[0] in wanted]
        counts: dict[tuple[str, date, int], dict[str, Any]] = {}
        for r in await self.pg.fetch(q.FINDING_COUNTS, lo, hi):
            entry = counts.setdefault(
                (str(r[0]), as_day(r[1]), int(r[2])), {"error": 0, "warn": 0, "checks": set()}
            )
            entry[str(r[3])] += int(r[5])
            entry["checks"].add(str(r[4]))
        largest = {
            (str(r[0]), as_day(r[1]), int(r[2])): float(r[3])
            for r in await self.pg.fetch(q.GAP_MAX, lo, hi)
        }
        out = []
        for r in state:
            checkpoint = checkpoint_row(r)
            gen = None if r[12] is None else int(r[12])
            key = (checkpoint.symbol, checkpoint.trading_day, gen if gen is not None else 0)
            found = counts.get(key, {}) if gen is not None else {}
            out.append(
                validation_row_from(
                    (
                        checkpoint.symbol,
                        checkpoint.trading_day,
                        checkpoint.rows,
                        r[10],  # summary status
                        r[11],  # score
                        r[9],  # summary validator_version
                        found.get("error"),
                        found.get("warn"),
                        ",".join(sorted(found.get("checks", ()))),
                        largest.get(key) if gen is not None else None,
                    )
                )
            )
        return sorted(out, key=lambda v: (v.symbol, v.trading_day))

    async def largest_gaps(
        self, symbols: Sequence[str], start: date, end: date, limit: int
    ) -> list[GapRow]:
        wanted = set(symbols)
        kept: dict[str, list[GapRow]] = {}
        for r in await self.pg.fetch(q.CURRENT_GAPS, as_ts(start), as_ts(end)):
            symbol = str(r[0])
            rows = kept.setdefault(symbol, [])
            if symbol in wanted and len(rows) < limit:  # ordered longest first
                rows.append(gap_from(r))
        return [g for symbol in sorted(kept) for g in kept[symbol]]

    async def day_counts(self, start: date, end: date) -> dict[tuple[str, date], int]:
        """Stored ticks per symbol-day for trading days ``start``..``end``."""
        rows = await self.pg.fetch(
            q.DAY_COUNTS, as_ts(start) - DAY_WINDOW_BEFORE, as_ts(end) + DAY_WINDOW_AFTER
        )
        out = {(str(r[0]), as_day(r[1])): int(r[2]) for r in rows}
        return {k: v for k, v in out.items() if start <= k[1] <= end}

    async def table_counts(self) -> dict[str, int]:
        """Row count per table: for tests and the demo's summary."""
        out: dict[str, int] = {}
        for table in schema.TABLES:
            rows = await self.pg.fetch(table.count)
            out[table.name] = int(rows[0][0]) if rows else 0
        return out
