"""The DuckDB store's tables, created or migrated (additively) on every open.

Column names are the ones both stores share (``ghtrader_core.store.rows``); stores made
before version 2 named three of them otherwise and are renamed on open (``migrate``).
"""

from __future__ import annotations

from ghtrader_core.ticks import FLOAT_COLUMNS

SCHEMA_VERSION = 2  # 2: rows -> row_count, "check" -> check_name, count -> hits

_TICKS_DDL = (
    "CREATE TABLE IF NOT EXISTS ticks (id BIGINT NOT NULL, datetime BIGINT NOT NULL, "
    + ", ".join(f"{c} DOUBLE" for c in FLOAT_COLUMNS)
    + ", symbol VARCHAR NOT NULL, contract VARCHAR NOT NULL, trading_day DATE NOT NULL)"
)
DDL: tuple[str, ...] = (
    _TICKS_DDL,
    """CREATE TABLE IF NOT EXISTS checkpoints (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, contract VARCHAR, row_count BIGINT,
        fingerprint VARCHAR, validator_version INTEGER, status VARCHAR, written_at TIMESTAMP,
        PRIMARY KEY (symbol, trading_day))""",
    """CREATE TABLE IF NOT EXISTS manifests (
        run_id VARCHAR NOT NULL, symbol VARCHAR NOT NULL, trading_day DATE NOT NULL,
        contract VARCHAR, row_count BIGINT, fingerprint VARCHAR, source VARCHAR,
        schema_hash VARCHAR, code_version VARCHAR,
        PRIMARY KEY (run_id, symbol, trading_day))""",
    """CREATE TABLE IF NOT EXISTS ingest_runs (
        run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP,
        planned INTEGER, downloaded INTEGER, skipped INTEGER, failed INTEGER, row_count BIGINT,
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
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, check_name VARCHAR,
        severity VARCHAR, hits BIGINT, field VARCHAR, examples_ns VARCHAR, message VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS validation_gaps (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, session VARCHAR,
        start_ns BIGINT, end_ns BIGINT, length_s DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS main_schedule (
        symbol VARCHAR NOT NULL, trading_day DATE NOT NULL, contract VARCHAR NOT NULL,
        fetched_at TIMESTAMP, PRIMARY KEY (symbol, trading_day))""",
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    # which source filled the day: a store never mixes sources unless asked to replace
    "ALTER TABLE checkpoints ADD COLUMN IF NOT EXISTS source VARCHAR",
    "UPDATE checkpoints SET source = (SELECT any_value(m.source) FROM manifests m "
    "WHERE m.symbol = checkpoints.symbol AND m.trading_day = checkpoints.trading_day) "
    "WHERE source IS NULL",
)
DAY_TABLES = ("ticks", "validation_summary", "validation_findings", "validation_gaps")
