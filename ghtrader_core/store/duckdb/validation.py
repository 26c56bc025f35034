"""The DuckDB store's validation role: which days are due, verdicts written with their
checkpoint marks, and the rows the report reads. A mixin of ``DuckDBStore``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

import duckdb
import pandas as pd

from ghtrader_core.records import Checkpoint
from ghtrader_core.store.base import GapRow, ValidationRow, ValidationWrite
from ghtrader_core.store.duckdb.connection import transaction
from ghtrader_core.store.duckdb.frames import insert_validations, verdict_frames
from ghtrader_core.store.duckdb.schema import DAY_TABLES
from ghtrader_core.store.rows import (
    MARK_COLUMNS,
    checkpoint_from,
    gap_from,
    mark_row,
    validation_row_from,
)

T = TypeVar("T")


class ValidationTables:
    async def _run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        raise NotImplementedError

    async def validation_due(
        self,
        symbols: Sequence[str],
        start: date,
        end: date,
        validator_version: int,
        *,
        full: bool = False,
    ) -> list[Checkpoint]:
        def query(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            return con.execute(
                "SELECT c.symbol, c.trading_day, c.contract, c.row_count, c.fingerprint, "
                "c.validator_version, c.status, c.written_at, c.source "
                "FROM checkpoints c LEFT JOIN validation_summary v "
                "ON v.symbol = c.symbol AND v.trading_day = c.trading_day "
                "WHERE c.symbol IN (SELECT unnest(?)) AND c.trading_day BETWEEN ? AND ? "
                "AND (? OR v.symbol IS NULL OR v.fingerprint IS DISTINCT FROM c.fingerprint "
                "OR coalesce(v.validator_version, 0) < ? "
                "OR coalesce(c.validator_version, 0) < ?) "
                "ORDER BY c.trading_day, c.symbol",
                [list(symbols), start, end, full, validator_version, validator_version],
            ).fetchall()

        return [checkpoint_from(r) for r in await self._run(query)]

    async def write_validations(self, results: Sequence[ValidationWrite]) -> None:
        if not results:
            return
        summary, findings, gaps = verdict_frames(results)
        marks = pd.DataFrame([mark_row(r) for r in results], columns=list(MARK_COLUMNS))

        def write(con: duckdb.DuckDBPyConnection) -> None:
            with transaction(con):
                con.register("marks", marks)
                for table in DAY_TABLES[1:]:
                    con.execute(
                        f"DELETE FROM {table} WHERE (symbol, trading_day) IN "
                        "(SELECT (symbol, trading_day) FROM marks)"
                    )
                insert_validations(con, summary, findings, gaps)
                con.execute(
                    "UPDATE checkpoints SET validator_version = m.validator_version, "
                    "status = m.status FROM marks m WHERE checkpoints.symbol = m.symbol "
                    "AND checkpoints.trading_day = m.trading_day "
                    "AND checkpoints.fingerprint = m.fingerprint"
                )
                con.unregister("marks")

        await self._run(write)

    async def validation_rows(
        self, symbols: Sequence[str], start: date, end: date
    ) -> list[ValidationRow]:
        def query(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            return con.execute(
                "WITH f AS (SELECT symbol, trading_day, "
                "count(*) FILTER (WHERE severity = 'error') AS errors, "
                "count(*) FILTER (WHERE severity = 'warn') AS warnings, "
                "string_agg(DISTINCT check_name, ',' ORDER BY check_name) "
                "FILTER (WHERE severity IN ('error', 'warn')) AS checks "
                "FROM validation_findings WHERE symbol IN (SELECT unnest($1)) "
                "AND trading_day BETWEEN $2 AND $3 GROUP BY symbol, trading_day), "
                "g AS (SELECT symbol, trading_day, max(length_s) AS largest "
                "FROM validation_gaps WHERE symbol IN (SELECT unnest($1)) "
                "AND trading_day BETWEEN $2 AND $3 GROUP BY symbol, trading_day) "
                "SELECT c.symbol, c.trading_day, c.row_count, v.status, v.score, "
                "v.validator_version, f.errors, f.warnings, f.checks, g.largest "
                "FROM checkpoints c "
                "LEFT JOIN validation_summary v "
                "ON v.symbol = c.symbol AND v.trading_day = c.trading_day "
                "LEFT JOIN f ON f.symbol = c.symbol AND f.trading_day = c.trading_day "
                "LEFT JOIN g ON g.symbol = c.symbol AND g.trading_day = c.trading_day "
                "WHERE c.symbol IN (SELECT unnest($1)) AND c.trading_day BETWEEN $2 AND $3 "
                "ORDER BY c.symbol, c.trading_day",
                [list(symbols), start, end],
            ).fetchall()

        return [validation_row_from(r) for r in await self._run(query)]

    async def largest_gaps(
        self, symbols: Sequence[str], start: date, end: date, limit: int
    ) -> list[GapRow]:
        def query(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            return con.execute(
                "SELECT symbol, trading_day, session, start_ns, end_ns, length_s FROM ("
                "SELECT *, row_number() OVER (PARTITION BY symbol "
                "ORDER BY length_s DESC, trading_day, start_ns) AS rank "
                "FROM validation_gaps WHERE symbol IN (SELECT unnest(?)) "
                "AND trading_day BETWEEN ? AND ?) WHERE rank <= ? "
                "ORDER BY symbol, rank",
                [list(symbols), start, end, limit],
            ).fetchall()

        return [gap_from(r) for r in await self._run(query)]
