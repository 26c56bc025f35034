"""A DuckDB store written by the previous release (columns ``rows``, ``"check"``,
``count``) opens under the shared column names, keeps everything it held, and is
migrated once."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from structlog.testing import capture_logs

from ghtrader_core.records import DayStatus, DayValidation, Finding, Severity
from ghtrader_core.store.base import ValidationWrite
from ghtrader_core.store.duckdb.migrate import RENAMES, migrate
from ghtrader_core.store.duckdb.schema import SCHEMA_VERSION
from ghtrader_core.store.duckdb.store import DuckDBStore

SYMBOL = "KQ.m@SHFE.cu"
DAY = date(2025, 11, 3)
WRITTEN = datetime(2025, 11, 3, 16)

# The previous release's DDL, as it shipped (ghtrader_core/store/duckdb/schema.py at 124ac48).
OLD_DDL = (
    """CREATE TABLE checkpoints (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, contract VARCHAR, rows BIGINT,
        fingerprint VARCHAR, validator_version INTEGER, status VARCHAR, written_at TIMESTAMP,
        PRIMARY KEY (symbol, trading_day))""",
    """CREATE TABLE manifests (
        run_id VARCHAR NOT NULL, symbol VARCHAR NOT NULL, trading_day DATE NOT NULL,
        contract VARCHAR, rows BIGINT, fingerprint VARCHAR, source VARCHAR,
        schema_hash VARCHAR, code_version VARCHAR,
        PRIMARY KEY (run_id, symbol, trading_day))""",
    """CREATE TABLE ingest_runs (
        run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP,
        planned INTEGER, downloaded INTEGER, skipped INTEGER, failed INTEGER, rows BIGINT,
        status VARCHAR, config_hash VARCHAR, code_version VARCHAR)""",
    """CREATE TABLE validation_summary (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, status VARCHAR, score DOUBLE,
        validator_version INTEGER, metrics VARCHAR, PRIMARY KEY (symbol, trading_day))""",
    "ALTER TABLE validation_summary ADD COLUMN fingerprint VARCHAR",
    """CREATE TABLE validation_findings (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, "check" VARCHAR,
        severity VARCHAR, count BIGINT, field VARCHAR, examples_ns VARCHAR, message VARCHAR)""",
    """CREATE TABLE validation_gaps (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, session VARCHAR,
        start_ns BIGINT, end_ns BIGINT, length_s DOUBLE)""",
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES (1)",
    "ALTER TABLE checkpoints ADD COLUMN source VARCHAR",
)


def old_store(path: Path) -> None:
    """A store as the previous release left it: one validated day with two findings."""
    con = duckdb.connect(str(path))
    for statement in OLD_DDL:
        con.execute(statement)
    con.execute(
        "INSERT INTO checkpoints VALUES (?, ?, 'SHFE.cu2601', 55800, 'fp1', 3, 'fail', ?, "
        "'synthetic')",
        [SYMBOL, DAY, WRITTEN],
    )
    con.execute(
        "INSERT INTO manifests VALUES ('r1', ?, ?, 'SHFE.cu2601', 55800, 'fp1', 'synthetic', "
        "'h', '0.1')",
        [SYMBOL, DAY],
    )
    con.execute(
        "INSERT INTO ingest_runs VALUES ('r1', 'backfill', ?, ?, 1, 1, 0, 0, 55800, 'ok', "
        "'c', '0.1')",
        [WRITTEN, WRITTEN],
    )
    con.execute(
        "INSERT INTO validation_summary VALUES (?, ?, 'fail', 0.5, 3, '{}', 'fp1')", [SYMBOL, DAY]
    )
    con.execute(
        "INSERT INTO validation_findings VALUES "
        "(?, ?, 'crossed_book', 'error', 7, '', '[1]', 'bid above ask'), "
        "(?, ?, 'stale_price', 'warn', 2, 'last_price', '[2]', 'unchanged')",
        [SYMBOL, DAY, SYMBOL, DAY],
    )
    con.execute(
        "INSERT INTO validation_gaps VALUES (?, ?, 'day', 10, 40000000010, 40.0)", [SYMBOL, DAY]
    )
    con.close()


def columns(path: Path, table: str) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
    return [str(r[0]) for r in rows]


async def test_an_old_store_opens_renamed_and_reads_its_findings_back(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_store(path)
    store = DuckDBStore(path)
    with capture_logs() as logs:
        await store.open()
    try:
        (row,) = await store.validation_rows([SYMBOL], DAY, DAY)
        assert (row.rows, row.status, row.score, row.validator_version) == (55800, "fail", 0.5, 3)
        assert (row.errors, row.warnings, row.checks) == (1, 1, "crossed_book,stale_price")
        assert row.largest_gap_s == 40.0
        (cov,) = await store.coverage()
        assert (cov.days_present, cov.rows) == (1, 55800)
        checkpoint = (await store.checkpoints([SYMBOL], DAY, DAY))[(SYMBOL, DAY)]
        assert (checkpoint.rows, checkpoint.source) == (55800, "synthetic")
        findings = await store._run(
            lambda con: con.execute(
                "SELECT check_name, hits, field FROM validation_findings ORDER BY check_name"
            ).fetchall()
        )
        # a finding about no column has a NULL field, as QuestDB stores it
        assert findings == [("crossed_book", 7, None), ("stale_price", 2, "last_price")]
    finally:
        await store.close()
    migrated = [e for e in logs if e["event"] == "store_schema_migrated"]
    assert len(migrated) == 1
    assert migrated[0]["from_version"] == 1 and migrated[0]["to_version"] == SCHEMA_VERSION
    assert len(migrated[0]["renamed"]) == len(RENAMES)
    assert "check_name" in columns(path, "validation_findings")
    assert "check" not in columns(path, "validation_findings")
    assert "row_count" in columns(path, "ingest_runs") and "rows" not in columns(path, "manifests")

    # a second open has nothing to do and says nothing
    again = DuckDBStore(path)
    with capture_logs() as logs:
        await again.open()
    try:
        versions = await again._run(
            lambda con: con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        )
        assert versions == [(1,), (SCHEMA_VERSION,)]
        # and the store takes new verdicts under the new names
        verdict = DayValidation(
            DayStatus.WARN,
            0.9,
            4,
            findings=(Finding("stale_price", Severity.WARN, 5, field="last_price"),),
        )
        await again.write_validations([ValidationWrite(SYMBOL, DAY, "fp1", verdict)])
        (row,) = await again.validation_rows([SYMBOL], DAY, DAY)
        assert (row.status, row.errors, row.warnings, row.checks) == ("warn", 0, 1, "stale_price")
    finally:
        await again.close()
    assert [e for e in logs if e["event"] == "store_schema_migrated"] == []


async def test_a_new_store_is_created_at_the_current_version_without_a_migration(
    tmp_path: Path,
) -> None:
    store = DuckDBStore(tmp_path / "new.duckdb")
    with capture_logs() as logs:
        await store.open()
    try:
        versions = await store._run(
            lambda con: con.execute("SELECT version FROM schema_version").fetchall()
        )
    finally:
        await store.close()
    assert versions == [(SCHEMA_VERSION,)]
    assert [e for e in logs if e["event"] == "store_schema_migrated"] == []


def test_a_failed_migration_leaves_the_store_wholly_old(tmp_path: Path) -> None:
    """The renames are one transaction: when one fails, none is kept."""
    path = tmp_path / "old.duckdb"
    old_store(path)
    con = duckdb.connect(str(path))
    # a hand-made NOT NULL on the findings' field refuses the last step, after every rename
    con.execute("ALTER TABLE validation_findings ALTER COLUMN field SET NOT NULL")
    try:
        with pytest.raises(duckdb.Error):
            migrate(con)
    finally:
        con.close()
    assert "rows" in columns(path, "checkpoints") and "count" in columns(
        path, "validation_findings"
    )
