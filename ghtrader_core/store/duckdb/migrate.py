"""Bring a DuckDB store made by an earlier release to the current schema, on open.

Additive changes (a new table, a new column) are in the DDL run on every connect. What
the DDL cannot say is a rename: stores before schema version 2 named three columns
otherwise than QuestDB and the shared mapping (``ghtrader_core.store.rows``) do. They are
renamed here in one transaction with the version recorded, so a store is either wholly
old or wholly new; a second open finds nothing to do and says nothing.
"""

from __future__ import annotations

import duckdb
import structlog

from ghtrader_core.store.duckdb.connection import transaction
from ghtrader_core.store.duckdb.schema import SCHEMA_VERSION

log = structlog.get_logger("ghtraderd.duckdb")

# (table, old name, new name): what schema version 2 renamed
RENAMES: tuple[tuple[str, str, str], ...] = (
    ("checkpoints", "rows", "row_count"),
    ("manifests", "rows", "row_count"),
    ("ingest_runs", "rows", "row_count"),
    ("validation_findings", "check", "check_name"),
    ("validation_findings", "count", "hits"),
)


def _columns(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND database_name = current_database()"
    ).fetchall()
    return {(str(t), str(c)) for t, c in rows}


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rename what an older store still names the old way, record the schema version;
    return the renames done (``table.old -> new``).

    A store at the current version costs one query; a new one (no version yet: the DDL
    has just created it with the current names) one insert. Only a store of an older
    version opens a transaction (renames, then the version), so the common opens touch
    nothing else (a DuckDB file near a full disk keeps the same write pattern)."""
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    before = None if row is None or row[0] is None else int(row[0])
    if before is None:
        con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])
        return []
    if before >= SCHEMA_VERSION:
        return []
    with transaction(con):
        present = _columns(con)
        done = []
        for table, old, new in RENAMES:
            if (table, old) in present and (table, new) not in present:
                con.execute(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO {new}')
                done.append(f"{table}.{old} -> {new}")
        # one shape across stores: a finding about no column has a NULL field
        con.execute("UPDATE validation_findings SET field = NULL WHERE field = ''")
        con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])
    log.info("store_schema_migrated", from_version=before, to_version=SCHEMA_VERSION, renamed=done)
    return done
