"""The embedded store: one DuckDB file, zero set-up; the default for the demo and tests.

Idempotency is per symbol-day: a day is replaced whole inside one transaction (delete its
rows, insert the new frame), so re-writing a day leaves one copy of each tick, and ticks
that differ only in nanoseconds stay distinct because nothing is keyed on a truncated
timestamp. A transaction commit is durable (DuckDB's WAL), which is what ``write_days``
promises before the pipeline writes a checkpoint.

Calls, their one guard and the classification of failures live in ``connection``; the
tables in ``schema``; records to rows in ``frames``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from ghtrader_core.calendar.clock import SYSTEM_CLOCK, Clock, naive_utc
from ghtrader_core.records import (
    Checkpoint,
    CoverageRow,
    FailedDay,
    IngestRun,
    ManifestEntry,
)
from ghtrader_core.store.base import DayPairs, DayWrite
from ghtrader_core.store.duckdb import plan
from ghtrader_core.store.duckdb.connection import Connection, transaction
from ghtrader_core.store.duckdb.frames import (
    arrow_day,
    insert_validations,
    validation_frames,
)
from ghtrader_core.store.duckdb.migrate import migrate
from ghtrader_core.store.duckdb.read import DuckDBReader
from ghtrader_core.store.duckdb.schema import DAY_TABLES, DDL
from ghtrader_core.store.duckdb.validation import ValidationTables
from ghtrader_core.store.rows import (
    CHECKPOINT_COLUMNS,
    FAILED_COLUMNS,
    MANIFEST_COLUMNS,
    RUN_COLUMNS,
    SCHEDULE_COLUMNS,
    checkpoint_from,
    checkpoint_row,
    coverage_from,
    failed_from,
    failed_row,
    manifest_row,
    placeholders,
    run_row,
    schedule_rows,
)
from ghtrader_core.ticks import TICK_COLUMNS

T = TypeVar("T")


def _upsert(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT OR REPLACE`` of one row of the shared ``columns`` (keyed by the table's
    primary key)."""
    return (
        f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) "
        f"VALUES ({placeholders(columns)})"
    )

class DuckDBStore(ValidationTables):
    name = "duckdb"

    def __init__(
        self,
        path: str | Path,
        *,
        unwritable_timeout_s: float = 300.0,
        must_exist: bool = False,
        memory_limit_mb: int | None = None,
        threads: int | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        # DuckDB's own default is 80 % of RAM and one thread per core: a daemon's store gets
        # an explicit bound, so a backfill's memory does not grow with what it has written.
        settings: dict[str, str | int] = {}
        if memory_limit_mb is not None:
            settings["memory_limit"] = f"{memory_limit_mb}MB"
            # Under that limit DuckDB spills to ``<store>.tmp`` (at checkpoints too), and by
            # default bounds the directory by 90 % of the disk space free when it is first
            # used: a disk that was full then keeps the bound tiny after it is freed, and
            # every write fails "failed to offload" until the process restarts. A bound the
            # disk reaches first makes a full disk a plain, retried "no space" instead.
            # Only with a limit: a store opened with DuckDB's defaults keeps all of them, so
            # a caller's own ``duckdb.connect(path)`` in the same process still matches it.
            settings["max_temp_directory_size"] = "1TB"
        if threads is not None:
            settings["threads"] = threads
        self._db = Connection(
            self.path,
            DDL,
            unwritable_timeout_s=unwritable_timeout_s,
            must_exist=must_exist,
            settings=settings,
        )

    # -- plumbing ---------------------------------------------------------------------
    async def _run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        return await self._db.run(fn)

    async def open(self) -> None:
        await self._db.open()
        await self._run(migrate)

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> None:
        await self._run(lambda con: con.execute("SELECT 1").fetchone())

    def reader(self) -> DuckDBReader:
        """The read API's SQL (``ghtrader_core.read``) over this store's connection."""
        return DuckDBReader(self._run)

    async def verify(self) -> None:
        """Read every block of every table (checksums are checked on read): a damaged
        store raises ``StoreCorruptError``. As long as a full scan; for ``check-config``."""

        def scan(con: duckdb.DuckDBPyConnection) -> None:
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
                con.execute(f'SELECT count(*), sum(hash(COLUMNS(*))) FROM "{table}"').fetchall()

        await self._run(scan)

    # -- writes -----------------------------------------------------------------------
    async def write_days(self, days: Sequence[DayWrite]) -> None:
        if not days:
            return
        keys = pd.DataFrame(
            {
                "symbol": [d.day.symbol for d in days],
                "trading_day": [d.day.trading_day for d in days],
            }
        )
        summary, findings, gaps = validation_frames(days)

        def write(con: duckdb.DuckDBPyConnection) -> None:
            tables = [arrow_day(d) for d in days if d.day.rows]
            ticks = pa.concat_tables(tables) if tables else None
            with transaction(con):
                con.register("day_keys", keys)
                # The day range lets DuckDB skip row groups by their min/max statistics.
                first = min(d.day.trading_day for d in days)
                last = max(d.day.trading_day for d in days)
                for table in DAY_TABLES:
                    con.execute(
                        f"DELETE FROM {table} WHERE trading_day BETWEEN ? AND ? AND "
                        "(symbol, trading_day) IN (SELECT (symbol, trading_day) FROM day_keys)",
                        [first, last],
                    )
                if ticks is not None:
                    con.register("incoming", ticks)
                    cols = ", ".join(TICK_COLUMNS)
                    con.execute(f"INSERT INTO ticks ({cols}) SELECT {cols} FROM incoming")
                    con.unregister("incoming")
                insert_validations(con, summary, findings, gaps)
                con.unregister("day_keys")

        await self._run(write)

    async def write_checkpoints(
        self, checkpoints: Sequence[Checkpoint], manifest: Sequence[ManifestEntry]
    ) -> None:
        if not checkpoints and not manifest:
            return
        cps = [checkpoint_row(c) for c in checkpoints]
        man = [manifest_row(m) for m in manifest]

        def write(con: duckdb.DuckDBPyConnection) -> None:
            with transaction(con):
                if cps:
                    con.executemany(_upsert("checkpoints", CHECKPOINT_COLUMNS), cps)
                    con.executemany(
                        "DELETE FROM failed_days WHERE symbol = ? AND trading_day = ?",
                        [(c[0], c[1]) for c in cps],
                    )
                if man:
                    con.executemany(_upsert("manifests", MANIFEST_COLUMNS), man)

        await self._run(write)

    async def record_failed(self, failed: Sequence[FailedDay]) -> None:
        rows = [failed_row(f) for f in failed]
        if rows:
            await self._run(
                lambda con: con.executemany(_upsert("failed_days", FAILED_COLUMNS), rows)
            )

    async def record_run(self, run: IngestRun) -> None:
        row = run_row(run)
        await self._run(lambda con: con.execute(_upsert("ingest_runs", RUN_COLUMNS), row))

    # -- reads ------------------------------------------------------------------------
    async def checkpointed_days(
        self, symbols: Sequence[str], start: date, end: date
    ) -> DayPairs:
        return await self._run(lambda con: plan.checkpointed_days(con, symbols, start, end))

    async def checkpoints(
        self, symbols: Sequence[str], start: date, end: date
    ) -> dict[tuple[str, date], Checkpoint]:
        def query(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            return con.execute(
                f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM checkpoints "
                "WHERE symbol IN (SELECT unnest(?)) AND trading_day BETWEEN ? AND ?",
                [list(symbols), start, end],
            ).fetchall()

        rows = await self._run(query)
        return {(c.symbol, c.trading_day): c for c in map(checkpoint_from, rows)}

    async def failed_days(self) -> list[FailedDay]:
        rows = await self._run(
            lambda con: con.execute(
                f"SELECT {', '.join(FAILED_COLUMNS)} FROM failed_days "
                "ORDER BY symbol, trading_day"
            ).fetchall()
        )
        return [failed_from(r) for r in rows]

    async def coverage(self) -> list[CoverageRow]:
        rows = await self._run(
            lambda con: con.execute(
                "SELECT symbol, min(trading_day), max(trading_day), count(*), sum(row_count), "
                "list(trading_day ORDER BY trading_day) FROM checkpoints "
                "GROUP BY symbol ORDER BY symbol"
            ).fetchall()
        )
        return [coverage_from(r, r[5]) for r in rows]

    async def read_day(self, symbol: str, trading_day: date) -> pd.DataFrame:
        cols = ", ".join(TICK_COLUMNS)
        frame: pd.DataFrame = await self._run(
            lambda con: con.execute(
                f"SELECT {cols} FROM ticks WHERE symbol = ? AND trading_day = ? "
                "ORDER BY datetime, id",
                [symbol, trading_day],
            ).df()
        )
        frame["trading_day"] = [
            d.date() if isinstance(d, datetime) else d for d in frame["trading_day"]
        ]
        return frame

    async def write_schedule(self, symbol: str, day_contracts: Sequence[tuple[date, str]]) -> None:
        now = naive_utc(self._clock)
        rows = schedule_rows(symbol, day_contracts, now)
        if rows:
            await self._run(
                lambda con: con.executemany(_upsert("main_schedule", SCHEDULE_COLUMNS), rows)
            )

    async def read_schedule(self, symbol: str) -> list[tuple[date, str]]:
        rows = await self._run(
            lambda con: con.execute(
                "SELECT trading_day, contract FROM main_schedule WHERE symbol = ? "
                "ORDER BY trading_day",
                [symbol],
            ).fetchall()
        )
        return [(r[0], r[1]) for r in rows]

    async def table_counts(self) -> dict[str, int]:
        """Row count per table: for tests and the demo's summary."""

        def count(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
            out: dict[str, int] = {}
            for table in (
                "ticks",
                "checkpoints",
                "manifests",
                "ingest_runs",
                "failed_days",
                *DAY_TABLES[1:],
            ):
                row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
                out[table] = int(row[0]) if row else 0
            return out

        return await self._run(count)
