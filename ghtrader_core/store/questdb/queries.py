"""The QuestDB store's queries and bookkeeping inserts (DDL lives in ``questdb_schema``).

Reads filter ticks on a ``ts`` range as well as on symbol and trading day: the range is
what lets QuestDB prune partitions (the predecessor filtered on a text ``trading_day``
and scanned whole tables). Bookkeeping rows are plain ``INSERT``s into DEDUP tables, so a
second insert of a key replaces the first.
"""

from __future__ import annotations

from datetime import datetime

from ghtrader_core.store.questdb.sql import Sql
from ghtrader_core.store.rows import (
    CHECKPOINT_COLUMNS,
    FAILED_COLUMNS,
    MANIFEST_COLUMNS,
    RUN_COLUMNS,
    SCHEDULE_COLUMNS,
    placeholders,
)
from ghtrader_core.ticks import FLOAT_COLUMNS

_T = datetime(2025, 11, 3)  # example timestamp argument (naive UTC, as sent)

PING = Sql("ping", "SELECT 1")
BUILD = Sql("build", "SELECT build()")
WAL_TABLES = Sql("wal_tables", "SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables()")


def _insert(name: str, table: str, columns: tuple[str, ...], example: tuple[object, ...]) -> Sql:
    """One row of the shared ``columns`` (``store.rows``), in their order."""
    return Sql(
        name,
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(columns, '$')})",
        example,
    )


CHECKPOINT_INSERT = _insert(
    "checkpoint_insert",
    "checkpoints",
    CHECKPOINT_COLUMNS,
    ("KQ.m@SHFE.cu", _T, "SHFE.cu2601", 55000, "55000:0a1b", 1, "ok", _T, "tqsdk"),
)
MANIFEST_INSERT = _insert(
    "manifest_insert",
    "manifests",
    MANIFEST_COLUMNS,
    ("0123abcd", "KQ.m@SHFE.cu", _T, "SHFE.cu2601", 55000, "55000:0a1b", "tqsdk", "abc", "0.1.0"),
)
FAILED_INSERT = _insert(
    "failed_insert",
    "failed_days",
    FAILED_COLUMNS,
    ("KQ.m@SHFE.cu", _T, "store refused the day: it's bad", True, 1, _T),
)
RUN_INSERT = _insert(
    "run_insert",
    "ingest_runs",
    RUN_COLUMNS,
    ("0123abcd", "backfill", _T, None, 60, 58, 2, 0, 3_000_000, "running", "c0ffee", "0.1.0"),
)
SCHEDULE_INSERT = _insert(
    "schedule_insert",
    "main_schedule",
    SCHEDULE_COLUMNS,
    ("KQ.m@SHFE.cu", _T, "SHFE.cu2601", _T),
)

CHECKPOINTS_IN_RANGE = Sql(
    "checkpoints_in_range",
    f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM checkpoints "
    "WHERE trading_day >= $1 AND trading_day <= $2",
    (_T, _T),
)
# Checkpoints written before they recorded their source: the manifest entry of the same
# fingerprint names it (what DuckDB's migration back-fills; QuestDB cannot UPDATE from a join).
MANIFEST_SOURCES = Sql(
    "manifest_sources",
    "SELECT symbol, trading_day, fingerprint, source FROM manifests "
    "WHERE trading_day >= $1 AND trading_day <= $2",
    (_T, _T),
)
# A failed day stays a dead letter until a checkpoint written after the failure clears it:
# QuestDB has no DELETE, so clearing is a join rather than a removal.
FAILED_OPEN = Sql(
    "failed_open",
    f"SELECT {', '.join('f.' + c for c in FAILED_COLUMNS)} "
    "FROM failed_days f LEFT JOIN checkpoints c "
    "ON f.symbol = c.symbol AND f.trading_day = c.trading_day "
    "WHERE c.written_at IS NULL OR c.written_at < f.failed_at "
    "ORDER BY f.symbol, f.trading_day",
)
# Coverage of every symbol in one query; the days come back as one string per symbol.
COVERAGE = Sql(
    "coverage",
    "SELECT symbol, min(trading_day), max(trading_day), count(), sum(row_count), "
    "string_agg(to_str(trading_day, 'yyyy-MM-dd'), ',') "
    "FROM checkpoints GROUP BY symbol ORDER BY symbol",
)
READ_DAY = Sql(
    "read_day",
    "SELECT id, cast(ts AS LONG) AS datetime_ns, "
    + ", ".join(FLOAT_COLUMNS)
    + ", symbol, contract, trading_day FROM ticks "
    "WHERE ts >= $1 AND ts < $2 AND symbol = $3 AND trading_day = $4 ORDER BY ts, id",
    (datetime(2025, 10, 28), datetime(2025, 11, 4), "KQ.m@SHFE.cu", _T),
)
DAY_COUNTS = Sql(
    "day_counts",
    "SELECT symbol, trading_day, count() FROM ticks WHERE ts >= $1 AND ts < $2 "
    "GROUP BY symbol, trading_day ORDER BY symbol, trading_day",
    (datetime(2025, 10, 28), datetime(2025, 11, 4)),
)
READ_SCHEDULE = Sql(
    "read_schedule",
    "SELECT trading_day, contract FROM main_schedule WHERE symbol = $1 ORDER BY trading_day",
    ("KQ.m@SHFE.cu",),
)

# Re-validation: checkpoints with the summary of the same day, filtered in Python (the
# conditions compare two nullable columns, simplest and exact on the client side).
VALIDATION_STATE = Sql(
    "validation_state",
    "SELECT c.symbol, c.trading_day, c.contract, c.row_count, c.fingerprint, "
    "c.validator_version, c.status, c.written_at, v.fingerprint, v.validator_version, "
    "v.status, v.score, v.generation "
    "FROM checkpoints c LEFT JOIN validation_summary v "
    "ON c.symbol = v.symbol AND c.trading_day = v.trading_day "
    "WHERE c.trading_day >= $1 AND c.trading_day <= $2",
    (_T, _T),
)
CHECKPOINT_MARK = Sql(
    "checkpoint_mark",
    "UPDATE checkpoints SET validator_version = $4, status = $5 "
    "WHERE symbol = $1 AND trading_day = $2 AND fingerprint = $3",  # MARK_COLUMNS
    ("KQ.m@SHFE.cu", _T, "55000:0a1b", 3, "warn"),
)
FINDING_COUNTS = Sql(
    "finding_counts",
    "SELECT symbol, trading_day, generation, severity, check_name, count() "
    "FROM validation_findings WHERE trading_day >= $1 AND trading_day <= $2 "
    "AND severity IN ('error', 'warn') "
    "GROUP BY symbol, trading_day, generation, severity, check_name",
    (_T, _T),
)
GAP_MAX = Sql(
    "gap_max",
    "SELECT symbol, trading_day, generation, max(length_s) FROM validation_gaps "
    "WHERE trading_day >= $1 AND trading_day <= $2 GROUP BY symbol, trading_day, generation",
    (_T, _T),
)
# Gaps of the current generation only: the summary names it.
CURRENT_GAPS = Sql(
    "current_gaps",
    "SELECT g.symbol, g.trading_day, g.session, g.start_ns, g.end_ns, g.length_s "
    "FROM validation_gaps g JOIN validation_summary v "
    "ON g.symbol = v.symbol AND g.trading_day = v.trading_day AND g.generation = v.generation "
    "WHERE g.trading_day >= $1 AND g.trading_day <= $2 "
    "ORDER BY g.length_s DESC, g.trading_day, g.start_ns",
    (_T, _T),
)
