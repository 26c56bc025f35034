"""The embedded store: one DuckDB file, zero set-up; the default for the demo and tests.

Idempotency is per symbol-day: a day is replaced whole inside one transaction (delete its
rows, insert the new frame), so re-writing a day leaves one copy of each tick, and ticks
that differ only in nanoseconds stay distinct because nothing is keyed on a truncated
timestamp. A transaction commit is durable (DuckDB's WAL), which is what ``write_days``
promises before the pipeline writes a checkpoint.

DuckDB connections are not meant for concurrent use, so every call runs in a worker
thread under a limiter of one: calls are serialised, and the event loop never blocks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ghtrader_core.errors import StoreLockedError, StorePathError, StoreUnavailableError
from ghtrader_core.records import (
    Checkpoint,
    CoverageRow,
    FailedDay,
    IngestRun,
    ManifestEntry,
)
from ghtrader_core.store.base import (
    SCHEMA_VERSION,
    DayPairs,
    DayWrite,
    GapRow,
    ValidationRow,
    ValidationWrite,
)
from ghtrader_core.store.duckdb import plan
from ghtrader_core.ticks import FLOAT_COLUMNS, SOURCE_COLUMNS, TICK_COLUMNS

T = TypeVar("T")

_TICKS_DDL = (
    "CREATE TABLE IF NOT EXISTS ticks (id BIGINT NOT NULL, datetime BIGINT NOT NULL, "
    + ", ".join(f"{c} DOUBLE" for c in FLOAT_COLUMNS)
    + ", symbol VARCHAR NOT NULL, contract VARCHAR NOT NULL, trading_day DATE NOT NULL)"
)
DDL: tuple[str, ...] = (
    _TICKS_DDL,
    """CREATE TABLE IF NOT EXISTS checkpoints (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, contract VARCHAR, rows BIGINT,
        fingerprint VARCHAR, validator_version INTEGER, status VARCHAR, written_at TIMESTAMP,
        PRIMARY KEY (symbol, trading_day))""",
    """CREATE TABLE IF NOT EXISTS manifests (
        run_id VARCHAR NOT NULL, symbol VARCHAR NOT NULL, trading_day DATE NOT NULL,
        contract VARCHAR, rows BIGINT, fingerprint VARCHAR, source VARCHAR,
        schema_hash VARCHAR, code_version VARCHAR,
        PRIMARY KEY (run_id, symbol, trading_day))""",
    """CREATE TABLE IF NOT EXISTS ingest_runs (
        run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP,
        planned INTEGER, downloaded INTEGER, skipped INTEGER, failed INTEGER, rows BIGINT,
        status VARCHAR, config_hash VARCHAR, code_version VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS failed_days (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, reason VARCHAR,
        permanent BOOLEAN, attempts INTEGER, failed_at TIMESTAMP,
        PRIMARY KEY (symbol, trading_day))""",
    """CREATE TABLE IF NOT EXISTS validation_summary (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, status VARCHAR, score DOUBLE,
        validator_version INTEGER, metrics VARCHAR, PRIMARY KEY (symbol, trading_day))""",
    # the fingerprint of the data validated: differs from the checkpoint's once re-written
    "ALTER TABLE validation_summary ADD COLUMN IF NOT EXISTS fingerprint VARCHAR",
    """CREATE TABLE IF NOT EXISTS validation_findings (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, "check" VARCHAR,
        severity VARCHAR, count BIGINT, field VARCHAR, examples_ns VARCHAR, message VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS validation_gaps (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, session VARCHAR,
        start_ns BIGINT, end_ns BIGINT, length_s DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS main_schedule (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, contract VARCHAR NOT NULL,
        fetched_at TIMESTAMP, PRIMARY KEY (symbol, trading_day))""",
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
)
_DAY_TABLES = ("ticks", "validation_summary", "validation_findings", "validation_gaps")


class DuckDBStore:
    name = "duckdb"

    def __init__(
        self, path: str | Path, *, memory_limit_mb: int | None = None, threads: int | None = None
    ) -> None:
        self.path = Path(path)
        # DuckDB's own default is 80 % of RAM and one thread per core: a daemon's store gets
        # an explicit bound, so a backfill's memory does not grow with what it has written.
        self._config: dict[str, str | bool | int | float | list[str]] = {}
        if memory_limit_mb is not None:
            self._config["memory_limit"] = f"{memory_limit_mb}MB"
        if threads is not None:
            self._config["threads"] = threads
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(1)

    # -- plumbing ---------------------------------------------------------------------
    async def _run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        def call() -> T:
            with self._lock:
                if self._con is None:
                    raise StoreUnavailableError(f"store {self.path} is not open")
                return fn(self._con)

        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(str(self.path), config=self._config)
        except PermissionError as exc:
            raise StorePathError(f"store path {self.path} is not writable: {exc}") from exc
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise StoreLockedError(
                    f"store {self.path} is in use by another process (one ghtraderd per "
                    f"store): {text}"
                ) from exc
            raise StorePathError(f"cannot open store {self.path}: {text}") from exc
        except OSError as exc:
            raise StorePathError(f"store path {self.path} is not usable: {exc}") from exc

    async def open(self) -> None:
        def create() -> None:
            con = self._connect()
            for stmt in DDL:
                con.execute(stmt)
            row = con.execute("SELECT max(version) FROM schema_version").fetchone()
            if row is None or row[0] is None:
                con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])
            with self._lock:
                self._con = con

        await anyio.to_thread.run_sync(create, limiter=self._limiter)

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                if self._con is not None:
                    self._con.close()
                    self._con = None

        await anyio.to_thread.run_sync(shut, limiter=self._limiter)

    async def ping(self) -> None:
        await self._run(lambda con: con.execute("SELECT 1").fetchone())

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
        summary, findings, gaps = _validation_frames(days)

        def write(con: duckdb.DuckDBPyConnection) -> None:
            tables = [_arrow_day(d) for d in days if d.day.rows]
            ticks = pa.concat_tables(tables) if tables else None
            with _transaction(con):
                con.register("day_keys", keys)
                # The day range lets DuckDB skip row groups by their min/max statistics.
                first = min(d.day.trading_day for d in days)
                last = max(d.day.trading_day for d in days)
                for table in _DAY_TABLES:
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
                _insert_validations(con, summary, findings, gaps)
                con.unregister("day_keys")

        await self._run(write)

    async def write_checkpoints(
        self, checkpoints: Sequence[Checkpoint], manifest: Sequence[ManifestEntry]
    ) -> None:
        if not checkpoints and not manifest:
            return
        cps = [
            (
                c.symbol,
                c.trading_day,
                c.contract,
                c.rows,
                c.fingerprint,
                c.validator_version,
                c.status,
                c.written_at,
            )
            for c in checkpoints
        ]
        man = [
            (
                m.run_id,
                m.symbol,
                m.trading_day,
                m.contract,
                m.rows,
                m.fingerprint,
                m.source,
                m.schema_hash,
                m.code_version,
            )
            for m in manifest
        ]

        def write(con: duckdb.DuckDBPyConnection) -> None:
            with _transaction(con):
                if cps:
                    con.executemany(
                        "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?)", cps
                    )
                    con.executemany(
                        "DELETE FROM failed_days WHERE symbol = ? AND trading_day = ?",
                        [(c[0], c[1]) for c in cps],
                    )
                if man:
                    con.executemany(
                        "INSERT OR REPLACE INTO manifests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", man
                    )

        await self._run(write)

    async def record_failed(self, failed: Sequence[FailedDay]) -> None:
        rows = [
            (f.symbol, f.trading_day, f.reason, f.permanent, f.attempts, f.failed_at)
            for f in failed
        ]
        if rows:
            await self._run(
                lambda con: con.executemany(
                    "INSERT OR REPLACE INTO failed_days VALUES (?, ?, ?, ?, ?, ?)", rows
                )
            )

    async def record_run(self, run: IngestRun) -> None:
        row = (
            run.run_id,
            run.command,
            run.started_at,
            run.ended_at,
            run.planned,
            run.downloaded,
            run.skipped,
            run.failed,
            run.rows,
            run.status,
            run.config_hash,
            run.code_version,
        )
        await self._run(
            lambda con: con.execute(
                "INSERT OR REPLACE INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        )

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
                "SELECT symbol, trading_day, contract, rows, fingerprint, validator_version, "
                "status, written_at FROM checkpoints "
                "WHERE symbol IN (SELECT unnest(?)) AND trading_day BETWEEN ? AND ?",
                [list(symbols), start, end],
            ).fetchall()

        rows = await self._run(query)
        return {(r[0], r[1]): Checkpoint(*r) for r in rows}

    async def failed_days(self) -> list[FailedDay]:
        rows = await self._run(
            lambda con: con.execute(
                "SELECT symbol, trading_day, reason, permanent, attempts, failed_at "
                "FROM failed_days ORDER BY symbol, trading_day"
            ).fetchall()
        )
        return [FailedDay(*r) for r in rows]

    async def coverage(self) -> list[CoverageRow]:
        rows = await self._run(
            lambda con: con.execute(
                "SELECT symbol, min(trading_day), max(trading_day), count(*), sum(rows), "
                "list(trading_day ORDER BY trading_day) FROM checkpoints "
                "GROUP BY symbol ORDER BY symbol"
            ).fetchall()
        )
        return [CoverageRow(r[0], r[1], r[2], int(r[3]), int(r[4] or 0), tuple(r[5])) for r in rows]

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
        now = datetime.now(tz=UTC).replace(tzinfo=None)
        rows = [(symbol, d, c, now) for d, c in day_contracts]
        if rows:
            await self._run(
                lambda con: con.executemany(
                    "INSERT OR REPLACE INTO main_schedule VALUES (?, ?, ?, ?)", rows
                )
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

    # -- validation -----------------------------------------------------------------
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
                "SELECT c.symbol, c.trading_day, c.contract, c.rows, c.fingerprint, "
                "c.validator_version, c.status, c.written_at "
                "FROM checkpoints c LEFT JOIN validation_summary v "
                "ON v.symbol = c.symbol AND v.trading_day = c.trading_day "
                "WHERE c.symbol IN (SELECT unnest(?)) AND c.trading_day BETWEEN ? AND ? "
                "AND (? OR v.symbol IS NULL OR v.fingerprint IS DISTINCT FROM c.fingerprint "
                "OR coalesce(v.validator_version, 0) < ? "
                "OR coalesce(c.validator_version, 0) < ?) "
                "ORDER BY c.trading_day, c.symbol",
                [list(symbols), start, end, full, validator_version, validator_version],
            ).fetchall()

        return [Checkpoint(*r) for r in await self._run(query)]

    async def write_validations(self, results: Sequence[ValidationWrite]) -> None:
        if not results:
            return
        summary, findings, gaps = _verdict_frames(results)
        marks = pd.DataFrame(
            {
                "symbol": [r.symbol for r in results],
                "trading_day": [r.trading_day for r in results],
                "fingerprint": [r.fingerprint for r in results],
                "validator_version": [r.validation.validator_version for r in results],
                "status": [str(r.validation.status) for r in results],
            }
        )

        def write(con: duckdb.DuckDBPyConnection) -> None:
            with _transaction(con):
                con.register("marks", marks)
                for table in _DAY_TABLES[1:]:
                    con.execute(
                        f"DELETE FROM {table} WHERE (symbol, trading_day) IN "
                        "(SELECT (symbol, trading_day) FROM marks)"
                    )
                _insert_validations(con, summary, findings, gaps)
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
                'string_agg(DISTINCT "check", \',\' ORDER BY "check") '
                "FILTER (WHERE severity IN ('error', 'warn')) AS checks "
                "FROM validation_findings WHERE symbol IN (SELECT unnest($1)) "
                "AND trading_day BETWEEN $2 AND $3 GROUP BY symbol, trading_day), "
                "g AS (SELECT symbol, trading_day, max(length_s) AS largest "
                "FROM validation_gaps WHERE symbol IN (SELECT unnest($1)) "
                "AND trading_day BETWEEN $2 AND $3 GROUP BY symbol, trading_day) "
                "SELECT c.symbol, c.trading_day, c.rows, coalesce(v.status, 'unvalidated'), "
                "v.score, coalesce(v.validator_version, 0), coalesce(f.errors, 0), "
                "coalesce(f.warnings, 0), coalesce(f.checks, ''), g.largest "
                "FROM checkpoints c "
                "LEFT JOIN validation_summary v "
                "ON v.symbol = c.symbol AND v.trading_day = c.trading_day "
                "LEFT JOIN f ON f.symbol = c.symbol AND f.trading_day = c.trading_day "
                "LEFT JOIN g ON g.symbol = c.symbol AND g.trading_day = c.trading_day "
                "WHERE c.symbol IN (SELECT unnest($1)) AND c.trading_day BETWEEN $2 AND $3 "
                "ORDER BY c.symbol, c.trading_day",
                [list(symbols), start, end],
            ).fetchall()

        return [
            ValidationRow(
                r[0], r[1], int(r[2] or 0), r[3], r[4], int(r[5]), int(r[6]), int(r[7]), r[8], r[9]
            )
            for r in await self._run(query)
        ]

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

        return [GapRow(*r) for r in await self._run(query)]

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
                *_DAY_TABLES[1:],
            ):
                row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
                out[table] = int(row[0]) if row else 0
            return out

        return await self._run(count)


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction: committed when the block ends, rolled back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _insert_validations(
    con: duckdb.DuckDBPyConnection,
    summary: pd.DataFrame | None,
    findings: pd.DataFrame | None,
    gaps: pd.DataFrame | None,
) -> None:
    """Insert validation frames (inside the caller's transaction)."""
    for table, frame in (
        ("validation_summary", summary),
        ("validation_findings", findings),
        ("validation_gaps", gaps),
    ):
        if frame is not None and len(frame):
            con.register("incoming", frame)
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming")
            con.unregister("incoming")


def _arrow_day(write: DayWrite) -> pa.Table:
    """A day's ticks as Arrow: numeric columns without a copy, and symbol, contract and
    trading_day built as constants instead of converting one Python object per row."""
    day = write.day
    n = day.rows
    table = pa.Table.from_pandas(day.ticks[SOURCE_COLUMNS], preserve_index=False)
    zeros = pa.array(np.zeros(n, dtype=np.int32))
    epoch_day = (day.trading_day - date(1970, 1, 1)).days
    return (
        table.append_column("symbol", pa.DictionaryArray.from_arrays(zeros, [day.symbol]))
        .append_column("contract", pa.DictionaryArray.from_arrays(zeros, [day.contract]))
        .append_column(
            "trading_day", pa.array(np.full(n, epoch_day, dtype=np.int32)).cast(pa.date32())
        )
    )


def _validation_frames(
    days: Sequence[DayWrite],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    return _verdict_frames(
        [
            ValidationWrite(d.day.symbol, d.day.trading_day, d.fingerprint, d.validation)
            for d in days
            if d.validation is not None
        ]
    )


def _verdict_frames(
    validated: Sequence[ValidationWrite],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    if not validated:
        return None, None, None
    summary = pd.DataFrame(
        [
            {
                "symbol": w.symbol,
                "trading_day": w.trading_day,
                "status": str(w.validation.status),
                "score": w.validation.score,
                "validator_version": w.validation.validator_version,
                "metrics": json.dumps(w.validation.metrics, sort_keys=True),
                "fingerprint": w.fingerprint,
            }
            for w in validated
        ]
    )
    findings = pd.DataFrame(
        [
            {
                "symbol": w.symbol,
                "trading_day": w.trading_day,
                "check": f.check,
                "severity": str(f.severity),
                "count": f.count,
                "field": f.field,
                "examples_ns": json.dumps(list(f.examples_ns)),
                "message": f.message,
            }
            for w in validated
            for f in w.validation.findings
        ]
    )
    gaps = pd.DataFrame(
        [
            {
                "symbol": w.symbol,
                "trading_day": w.trading_day,
                "session": g.session,
                "start_ns": g.start_ns,
                "end_ns": g.end_ns,
                "length_s": g.length_s,
            }
            for w in validated
            for g in w.validation.gaps
        ]
    )
    return summary, findings, gaps
