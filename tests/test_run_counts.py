"""Run counters in one shape: what the pass summary says is what the run record keeps,
and the keys users read (``backfill --json``, ``validate --json``) stay as they were."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from daemon.events import RunStats, StoredDay
from daemon.pipeline import Summary
from daemon.revalidate import RevalidationSummary
from ghtrader_core.errors import PermanentError
from ghtrader_core.records import RunCounts
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.store.rows import RUN_COLUMNS, run_from
from tests.pipeline_helpers import config_obj, small_config
from tests.test_pipeline import CountingSource, run, source_for

BACKFILL_KEYS = [
    "planned",
    "downloaded",
    "skipped",
    "failed",
    "rows",
    "wall_s",
    "interrupted",
    "sink_s",
    "validate_s",
]
VALIDATE_KEYS = [
    "due",
    "validated",
    "ok",
    "warn",
    "fail",
    "rows",
    "wall_s",
    "validator_version",
    "failed_days",
]


def test_the_json_keys_users_read_are_unchanged() -> None:
    assert list(Summary(planned=1, rows=5, wall_s=0.5).as_dict()) == BACKFILL_KEYS
    assert list(RevalidationSummary().as_dict()) == VALIDATE_KEYS


def test_run_stats_count_what_the_observer_hooks_report() -> None:
    stats = RunStats()
    stats.planned(7, 2)
    stats.day_done(StoredDay("A", date(2025, 11, 3), 100))
    stats.day_done(StoredDay("A", date(2025, 11, 4), 50))
    stats.day_failed("A", date(2025, 11, 5), "gone", True)
    assert stats.counts == RunCounts(planned=5, downloaded=2, skipped=2, failed=1, rows=150)


async def test_the_stored_run_record_carries_the_summarys_counts(tmp_path: Path) -> None:
    cfg = config_obj(small_config(tmp_path))
    bad = ("KQ.m@CFFEX.IF", date(2025, 11, 4))
    source = CountingSource(source_for(cfg), fail={bad: PermanentError("unknown symbol")})
    store = DuckDBStore(cfg.store.path)
    summary = await run(cfg, store, source)
    assert (summary.planned, summary.downloaded, summary.failed) == (6, 5, 1)
    await store.open()
    try:
        stored = await store._run(
            lambda con: con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM ingest_runs").fetchall()
        )
    finally:
        await store.close()
    (record,) = [run_from(r) for r in stored]
    assert record.status == "partial"
    assert record.counts == summary.counts()
    assert summary.counts().rows > 0
