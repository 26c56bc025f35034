"""The QuestDB schema: every logical table as a WAL table with DEDUP UPSERT KEYS.

Why these keys (QuestDB has no DELETE; re-writing must be idempotent by key alone):

- ``ticks``: designated ``ts TIMESTAMP_NS`` and keys ``(ts, symbol, id)``. TqSdk stamps
  ticks in nanoseconds; a microsecond ``TIMESTAMP`` would truncate them, so the stored
  ``datetime`` would no longer equal the source's and a day's fingerprint could not be
  re-computed from the store. With ``TIMESTAMP_NS`` the designated column *is* TqSdk's
  ``datetime`` (read back with ``cast(ts AS LONG)``), ILP protocol 2 sends it natively,
  and two ticks with the same nanosecond but different TqSdk ``id`` stay two rows.
  ``symbol`` is in the key because different main series may share a contract (and ids).
- bookkeeping tables (checkpoints, manifests, failed days, validation summary) are keyed
  by their natural key with the trading day (midnight UTC) as designated timestamp, so a
  second write of a key replaces the first (last write wins = upsert).
- validation findings and gaps are many rows per day, and a re-validation may produce
  fewer rows than before, which an upsert cannot remove. Each day's validation therefore
  carries a ``generation``: a hash of its content. Rows are keyed by
  ``(trading_day, symbol, generation, seq)``; the summary row (one per day, upserted)
  names the current generation, and readers take findings/gaps of that generation only.
  Re-sending the same validation rewrites the same keys (idempotent); a changed verdict
  writes a new generation and the old rows simply stop being referenced. Content hashing
  (not a counter or a clock) keeps a retried batch from creating a second generation.

Partitions: ``ticks`` by DAY (one trading day of one symbol spans two UTC days; a time
range prunes partitions). Findings and gaps by MONTH, the small bookkeeping tables by
YEAR: a DAY partition per trading day for tables holding tens of rows a day would mean
thousands of tiny partitions (files per column each) for every coverage query to open.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.ticks import FLOAT_COLUMNS

QUESTDB_SCHEMA_VERSION = 1

SYMBOL_CAPACITY = 1024  # distinct main symbols
CONTRACT_CAPACITY = 32768  # contracts over the years (~100 varieties x 12 a year x 20 years)
RUN_CAPACITY = 8192  # ingest runs: one or a few a day


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as ``table_columns()`` reports it, e.g. DOUBLE, SYMBOL, TIMESTAMP_NS
    capacity: int = 0  # SYMBOL only

    def ddl(self) -> str:
        if self.type == "SYMBOL":
            return f"{self.name} SYMBOL CAPACITY {self.capacity} CACHE"
        return f"{self.name} {self.type}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    timestamp: str
    partition_by: str
    keys: tuple[str, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        assert self.timestamp in names and self.timestamp in self.keys, self.name
        assert all(k in names for k in self.keys), self.name

    @property
    def create(self) -> Sql:
        cols = ", ".join(c.ddl() for c in self.columns)
        return Sql(
            f"create_{self.name}",
            f"CREATE TABLE IF NOT EXISTS {self.name} ({cols}) TIMESTAMP({self.timestamp}) "
            f"PARTITION BY {self.partition_by} WAL DEDUP UPSERT KEYS({', '.join(self.keys)})",
        )

    @property
    def columns_query(self) -> Sql:
        return Sql(
            f"columns_{self.name}",
            f"SELECT \"column\", type, upsertKey FROM table_columns('{self.name}')",
        )

    @property
    def dedup_enable(self) -> Sql:
        return Sql(
            f"dedup_{self.name}",
            f"ALTER TABLE {self.name} DEDUP ENABLE UPSERT KEYS({', '.join(self.keys)})",
        )

    def add_column(self, column: Column) -> Sql:
        return Sql(
            f"add_{self.name}_{column.name}",
            f"ALTER TABLE {self.name} ADD COLUMN IF NOT EXISTS {column.ddl()}",
        )

    @property
    def count(self) -> Sql:
        return Sql(f"count_{self.name}", f"SELECT count() FROM {self.name}")

    @property
    def resume_wal(self) -> Sql:
        return Sql(f"resume_{self.name}", f"ALTER TABLE {self.name} RESUME WAL")


def _sym(name: str, capacity: int = 256) -> Column:
    return Column(name, "SYMBOL", capacity)


_DAY_KEY = (Column("trading_day", "TIMESTAMP"), _sym("symbol", SYMBOL_CAPACITY))

TICKS = Table(
    "ticks",
    (
        Column("ts", "TIMESTAMP_NS"),
        Column("id", "LONG"),
        *(Column(c, "DOUBLE") for c in FLOAT_COLUMNS),
        _sym("symbol", SYMBOL_CAPACITY),
        _sym("contract", CONTRACT_CAPACITY),
        Column("trading_day", "TIMESTAMP"),
    ),
    timestamp="ts",
    partition_by="DAY",
    keys=("ts", "symbol", "id"),
)
CHECKPOINTS = Table(
    "checkpoints",
    (
        *_DAY_KEY,
        _sym("contract", CONTRACT_CAPACITY),
        Column("row_count", "LONG"),
        Column("fingerprint", "VARCHAR"),
        Column("validator_version", "INT"),
        _sym("status", 16),
        Column("written_at", "TIMESTAMP"),
        _sym("source", 16),  # added later: stores made before have NULL (see reads)
    ),
    timestamp="trading_day",
    partition_by="YEAR",
    keys=("trading_day", "symbol"),
)
MANIFESTS = Table(
    "manifests",
    (
        *_DAY_KEY,
        _sym("run_id", RUN_CAPACITY),
        _sym("contract", CONTRACT_CAPACITY),
        Column("row_count", "LONG"),
        Column("fingerprint", "VARCHAR"),
        _sym("source", 16),
        _sym("schema_hash", 64),
        _sym("code_version", 256),
    ),
    timestamp="trading_day",
    partition_by="YEAR",
    keys=("trading_day", "symbol", "run_id"),
)
INGEST_RUNS = Table(
    "ingest_runs",
    (
        Column("started_at", "TIMESTAMP"),
        _sym("run_id", RUN_CAPACITY),
        _sym("command", 16),
        Column("ended_at", "TIMESTAMP"),
        Column("planned", "INT"),
        Column("downloaded", "INT"),
        Column("skipped", "INT"),
        Column("failed", "INT"),
        Column("row_count", "LONG"),
        _sym("status", 16),
        Column("config_hash", "VARCHAR"),
        _sym("code_version", 256),
    ),
    timestamp="started_at",
    partition_by="YEAR",
    keys=("started_at", "run_id"),
)
FAILED_DAYS = Table(
    "failed_days",
    (
        *_DAY_KEY,
        Column("reason", "VARCHAR"),
        Column("permanent", "BOOLEAN"),
        Column("attempts", "INT"),
        Column("failed_at", "TIMESTAMP"),
    ),
    timestamp="trading_day",
    partition_by="YEAR",
    keys=("trading_day", "symbol"),
)
VALIDATION_SUMMARY = Table(
    "validation_summary",
    (
        *_DAY_KEY,
        _sym("status", 16),
        Column("score", "DOUBLE"),
        Column("validator_version", "INT"),
        Column("metrics", "VARCHAR"),
        Column("generation", "LONG"),
        Column("fingerprint", "VARCHAR"),  # of the data validated (re-validation due if not)
    ),
    timestamp="trading_day",
    partition_by="YEAR",
    keys=("trading_day", "symbol"),
)
VALIDATION_FINDINGS = Table(
    "validation_findings",
    (
        *_DAY_KEY,
        Column("generation", "LONG"),
        Column("seq", "INT"),
        _sym("check_name", 256),
        _sym("severity", 16),
        Column("hits", "LONG"),
        _sym("field", 256),
        Column("examples_ns", "VARCHAR"),
        Column("message", "VARCHAR"),
    ),
    timestamp="trading_day",
    partition_by="MONTH",
    keys=("trading_day", "symbol", "generation", "seq"),
)
VALIDATION_GAPS = Table(
    "validation_gaps",
    (
        *_DAY_KEY,
        Column("generation", "LONG"),
        Column("seq", "INT"),
        _sym("session", 64),
        Column("start_ns", "LONG"),
        Column("end_ns", "LONG"),
        Column("length_s", "DOUBLE"),
    ),
    timestamp="trading_day",
    partition_by="MONTH",
    keys=("trading_day", "symbol", "generation", "seq"),
)
MAIN_SCHEDULE = Table(
    "main_schedule",
    (*_DAY_KEY, _sym("contract", CONTRACT_CAPACITY), Column("fetched_at", "TIMESTAMP")),
    timestamp="trading_day",
    partition_by="YEAR",
    keys=("trading_day", "symbol"),
)
SCHEMA_VERSION_TABLE = Table(
    "schema_version",
    (Column("applied_at", "TIMESTAMP"), Column("version", "INT")),
    timestamp="applied_at",
    partition_by="YEAR",
    keys=("applied_at", "version"),
)

TABLES: tuple[Table, ...] = (
    TICKS,
    CHECKPOINTS,
    MANIFESTS,
    INGEST_RUNS,
    FAILED_DAYS,
    VALIDATION_SUMMARY,
    VALIDATION_FINDINGS,
    VALIDATION_GAPS,
    MAIN_SCHEDULE,
    SCHEMA_VERSION_TABLE,
)
BY_NAME = {t.name: t for t in TABLES}

# Created here, at import, so that the SQL registry holds every DDL the store can issue.
for _table in TABLES:
    _ = (_table.create, _table.columns_query, _table.dedup_enable, _table.count, _table.resume_wal)
    for _column in _table.columns:
        _table.add_column(_column)

TABLES_QUERY = Sql(
    "tables",
    "SELECT table_name, walEnabled, dedup, partitionBy, designatedTimestamp FROM tables()",
)
SCHEMA_VERSION_QUERY = Sql("schema_version_max", "SELECT max(version) FROM schema_version")
SCHEMA_VERSION_INSERT = Sql(
    "schema_version_insert",
    "INSERT INTO schema_version (applied_at, version) VALUES ($1, $2)",
    (None, QUESTDB_SCHEMA_VERSION),
)


@dataclass(frozen=True)
class ExistingTable:
    """What ``tables()`` and ``table_columns()`` say about a table already on the server."""

    name: str
    wal: bool
    dedup: bool
    partition_by: str
    timestamp: str
    columns: dict[str, str]  # name -> type
    upsert_keys: frozenset[str]


def plan_migration(table: Table, existing: ExistingTable | None) -> tuple[list[Sql], list[str]]:
    """Statements that bring ``existing`` to ``table``, and conflicts no statement can fix.

    Missing tables are created, missing columns added and dedup keys (re)enabled; a table
    that is not WAL, has another designated timestamp or partitioning, or a column of
    another type is a conflict: changing those needs a table rewrite an operator decides.
    """
    if existing is None:
        return [table.create], []
    conflicts: list[str] = []
    if not existing.wal:
        conflicts.append(f"{table.name} is not a WAL table")
    if existing.timestamp != table.timestamp:
        conflicts.append(
            f"{table.name} has designated timestamp {existing.timestamp!r}, "
            f"expected {table.timestamp!r}"
        )
    if existing.partition_by.upper() != table.partition_by:
        conflicts.append(
            f"{table.name} is partitioned by {existing.partition_by}, expected {table.partition_by}"
        )
    statements: list[Sql] = []
    for column in table.columns:
        have = existing.columns.get(column.name)
        if have is None:
            statements.append(table.add_column(column))
        elif have.upper() != column.type:
            conflicts.append(f"{table.name}.{column.name} is {have}, expected {column.type}")
    if not existing.dedup or existing.upsert_keys != frozenset(table.keys):
        statements.append(table.dedup_enable)
    return statements, conflicts
