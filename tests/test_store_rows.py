"""One data shape across stores: the shared mapping (``ghtrader_core.store.rows``), the
column names both stores' tables carry, and run counters in one record."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from ghtrader_core.records import (
    Checkpoint,
    DayStatus,
    DayValidation,
    FailedDay,
    Finding,
    Gap,
    IngestRun,
    RunCounts,
    Severity,
)
from ghtrader_core.store import rows
from ghtrader_core.store.base import ValidationWrite
from ghtrader_core.store.duckdb.frames import verdict_frames
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.questdb import schema as questdb_schema
from ghtrader_core.store.questdb.frames import as_ts, validation_frames

DAY = date(2025, 11, 3)
AT = datetime(2025, 11, 3, 16, 0, 1)
QUESTDB_ONLY = {"generation", "seq"}  # how QuestDB replaces a day's rows without DELETE

TABLES = {
    "checkpoints": rows.CHECKPOINT_COLUMNS,
    "manifests": rows.MANIFEST_COLUMNS,
    "failed_days": rows.FAILED_COLUMNS,
    "ingest_runs": rows.RUN_COLUMNS,
    "main_schedule": rows.SCHEDULE_COLUMNS,
    "validation_summary": rows.SUMMARY_COLUMNS,
    "validation_findings": rows.FINDING_COLUMNS,
    "validation_gaps": rows.GAP_COLUMNS,
}


def a_verdict() -> ValidationWrite:
    return ValidationWrite(
        "KQ.m@SHFE.cu",
        DAY,
        "55800:ab",
        DayValidation(
            DayStatus.FAIL,
            0.25,
            4,
            metrics={"rows": 55800.0},
            findings=(
                Finding("crossed_book", Severity.ERROR, 3, (1, 2, 3), message="bid > ask"),
                Finding("stale_price", Severity.WARN, 9, (4,), field="last_price"),
            ),
            gaps=(Gap("day", 10, 40_000_000_010),),
        ),
    )


async def test_both_stores_name_every_bookkeeping_column_alike(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    await store.open()
    try:
        found = await store._run(
            lambda con: con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() ORDER BY column_index"
            ).fetchall()
        )
    finally:
        await store.close()
    quest = {t.name: [c.name for c in t.columns] for t in questdb_schema.TABLES}
    for table, columns in TABLES.items():
        duck = [c for t, c in found if t == table]
        assert set(duck) == set(columns), table
        assert set(quest[table]) - QUESTDB_ONLY == set(columns), table


def test_a_new_run_counter_needs_its_column_in_the_mapping() -> None:
    """``RunCounts`` is the one place a counter is added; the stores' ``ingest_runs``
    follow the mapping's columns (checked above), which follow the record's fields."""
    names = [f.name for f in fields(RunCounts)]
    assert ["row_count" if n == "rows" else n for n in names] == list(rows.COUNT_COLUMNS)


@pytest.mark.parametrize("day", [rows.same_day, as_ts], ids=["duckdb", "questdb"])
def test_records_come_back_from_their_rows(day: rows.Day) -> None:
    checkpoint = Checkpoint("KQ.m@SHFE.cu", DAY, "SHFE.cu2601", 55800, "f", 3, "ok", AT, "tqsdk")
    assert rows.checkpoint_from(rows.checkpoint_row(checkpoint, day)) == checkpoint
    failed = FailedDay("KQ.m@SHFE.cu", DAY, "refused", True, 2, AT)
    assert rows.failed_from(rows.failed_row(failed, day)) == failed
    run = IngestRun("r", "backfill", AT, None, RunCounts(3, 2, 1, 1, 99), "partial", "c", "v")
    assert rows.run_from(rows.run_row(run)) == run
    assert len(rows.checkpoint_row(checkpoint, day)) == len(rows.CHECKPOINT_COLUMNS)
    assert len(rows.run_row(run)) == len(rows.RUN_COLUMNS)


def test_a_checkpoint_row_without_its_source_reads_as_unknown() -> None:
    row = rows.checkpoint_row(
        Checkpoint("KQ.m@SHFE.cu", DAY, "SHFE.cu2601", 1, "f", 0, "unvalidated", AT, "x")
    )
    assert rows.checkpoint_from(row[:8]).source is None


def test_both_stores_write_one_verdict_as_the_same_rows() -> None:
    verdict = a_verdict()
    duck = dict(
        zip(
            ("validation_summary", "validation_findings", "validation_gaps"),
            verdict_frames([verdict]),
            strict=True,
        )
    )
    quest = {f.table: f.frame for f in validation_frames([verdict])}
    assert set(quest) == set(duck)
    for table, frame in duck.items():
        assert frame is not None
        assert list(frame.columns) == list(TABLES[table])
        other = quest[table].drop(columns=[c for c in QUESTDB_ONLY if c in quest[table]])
        assert sorted(other.columns) == sorted(frame.columns), table
        # the same values: QuestDB's trading day is the midnight timestamp of DuckDB's date
        other = other[list(frame.columns)].astype(object).where(other.notna(), None)
        other["trading_day"] = [pd.Timestamp(t).date() for t in other["trading_day"]]
        mine = frame.astype(object).where(frame.notna(), None)
        assert other.to_dict("records") == mine.to_dict("records"), table
    findings = duck["validation_findings"]
    assert findings is not None
    findings = findings[["check_name", "hits", "field"]].astype(object)
    assert findings.where(findings.notna(), None).to_dict("records") == [
        {"check_name": "crossed_book", "hits": 3, "field": None},
        {"check_name": "stale_price", "hits": 9, "field": "last_price"},
    ]


def test_coverage_rows_read_alike_from_a_list_or_a_joined_string() -> None:
    days = [date(2025, 11, 4), DAY]
    duck = rows.coverage_from(("S", DAY, days[0], 2, 10, days), days)
    quest = rows.coverage_from(
        ("S", datetime(2025, 11, 3), datetime(2025, 11, 4), 2, 10, None),
        ["2025-11-04", "2025-11-03"],
    )
    assert duck == quest
    assert duck.days == (DAY, date(2025, 11, 4))
