"""Incremental re-validation against a real DuckDB store: what is due, and what a run
changes (validation tables and checkpoints)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

import daemon.revalidate as revalidate_mod
import ghtrader_core.validation as validation_mod
from daemon.factory import build_calendar, build_source, build_validator
from daemon.pipeline import backfill
from daemon.revalidate import revalidate
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.store.base import ValidationWrite
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.validation import VALIDATOR_VERSION, Thresholds
from tests.pipeline_helpers import config_obj, small_config

SYMBOLS = ("KQ.m@SHFE.cu", "KQ.m@DCE.m")
START, END = date(2025, 11, 3), date(2025, 11, 5)
TH = Thresholds()
CAL = TradingCalendar()  # what the default [calendar] section builds


async def ingest(
    tmp_path: Path, *, validate: bool = True, end: date = END, extra: str = ""
) -> DuckDBStore:
    cfg = config_obj(small_config(tmp_path, symbols=SYMBOLS, end=end.isoformat(), extra=extra))
    cal = build_calendar(cfg)
    store = DuckDBStore(cfg.store.path)
    await store.open()
    await backfill(
        cfg,
        store,
        build_source(cfg, cal),
        cal,
        validator=build_validator(cfg, cal) if validate else None,
    )
    return store


async def run(
    store: DuckDBStore, *, full: bool = False, end: date = END
) -> revalidate_mod.RevalidationSummary:
    return await revalidate(
        store, CAL, TH, SYMBOLS, START, end, full=full, concurrency=2, batch_days=4
    )


async def test_inline_validation_is_stored_with_the_days_fingerprint(tmp_path: Path) -> None:
    store = await ingest(tmp_path)
    try:
        cps = await store.checkpoints(SYMBOLS, START, END)
        assert len(cps) == 6
        assert {c.validator_version for c in cps.values()} == {VALIDATOR_VERSION}
        assert {c.status for c in cps.values()} == {"ok"}
        rows = await store.validation_rows(SYMBOLS, START, END)
        assert [r.status for r in rows] == ["ok"] * 6
        assert await store.validation_due(SYMBOLS, START, END, VALIDATOR_VERSION) == []
    finally:
        await store.close()


async def test_unchanged_days_are_not_revalidated_full_redoes_all(tmp_path: Path) -> None:
    store = await ingest(tmp_path)
    try:
        assert (await run(store)).validated == 0
        full = await run(store, full=True)
        assert (full.due, full.validated, full.ok) == (6, 6, 6)
        counts = await store.table_counts()
        assert counts["validation_summary"] == 6  # replaced, not duplicated
        assert (await run(store)).validated == 0
    finally:
        await store.close()


async def test_a_changed_fingerprint_makes_only_that_day_due(tmp_path: Path) -> None:
    store = await ingest(tmp_path)
    try:
        cps = await store.checkpoints(SYMBOLS, START, END)
        changed = replace(cps[("KQ.m@DCE.m", date(2025, 11, 4))], fingerprint="1:other")
        await store.write_checkpoints([changed], [])
        due = await store.validation_due(SYMBOLS, START, END, VALIDATOR_VERSION)
        assert [(c.symbol, c.trading_day) for c in due] == [("KQ.m@DCE.m", date(2025, 11, 4))]
        summary = await run(store)
        assert summary.validated == 1 and summary.rows > 0
        assert (await run(store)).validated == 0
    finally:
        await store.close()


async def test_an_older_validator_version_makes_every_day_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await ingest(tmp_path)
    try:
        assert len(await store.validation_due(SYMBOLS, START, END, VALIDATOR_VERSION + 1)) == 6
        monkeypatch.setattr(validation_mod, "VALIDATOR_VERSION", VALIDATOR_VERSION + 1)
        monkeypatch.setattr(revalidate_mod, "VALIDATOR_VERSION", VALIDATOR_VERSION + 1)
        assert (await run(store)).validated == 6
        cps = await store.checkpoints(SYMBOLS, START, END)
        assert {c.validator_version for c in cps.values()} == {VALIDATOR_VERSION + 1}
        assert (await run(store)).validated == 0
    finally:
        await store.close()


async def test_a_new_unvalidated_day_is_the_only_one_due(tmp_path: Path) -> None:
    store = await ingest(tmp_path)
    await store.close()
    store = await ingest(tmp_path, validate=False, end=date(2025, 11, 6))
    try:
        due = await store.validation_due(SYMBOLS, START, date(2025, 11, 6), VALIDATOR_VERSION)
        assert {c.trading_day for c in due} == {date(2025, 11, 6)} and len(due) == 2
        assert {c.status for c in due} == {"unvalidated"}
        assert (await run(store, end=date(2025, 11, 6))).validated == 2
        cps = await store.checkpoints(SYMBOLS, START, date(2025, 11, 6))
        assert {c.status for c in cps.values()} == {"ok"}
    finally:
        await store.close()


async def test_failed_days_are_counted_and_their_findings_replaced(tmp_path: Path) -> None:
    extra = "[source.synthetic.faults]\ngap = 1.0\n"
    store = await ingest(tmp_path, extra=extra)
    try:
        first = await store.table_counts()
        summary = await run(store, full=True)
        assert summary.fail == 6 and summary.ok == 0
        assert {tuple(d["checks"]) for d in summary.failed_days} == {("gap",)}
        again = await store.table_counts()
        assert again["validation_findings"] == first["validation_findings"]
        assert again["validation_gaps"] == first["validation_gaps"] >= 6
        gaps = await store.largest_gaps(SYMBOLS, START, END, 2)
        assert [g.symbol for g in gaps] == ["KQ.m@DCE.m"] * 2 + ["KQ.m@SHFE.cu"] * 2
        assert all(g.length_s >= 60 for g in gaps)
        rows = await store.validation_rows(SYMBOLS, START, END)
        assert {r.status for r in rows} == {"fail"} and {r.checks for r in rows} == {"gap"}
        assert all(r.largest_gap_s and r.largest_gap_s >= 60 for r in rows)
    finally:
        await store.close()


async def test_a_verdict_on_stale_data_does_not_touch_the_checkpoint(tmp_path: Path) -> None:
    store = await ingest(tmp_path)
    try:
        key = ("KQ.m@SHFE.cu", date(2025, 11, 4))
        cps = await store.checkpoints(SYMBOLS, START, END)
        verdict = validation_mod.validate_day(
            await store.read_day(*key),
            symbol=key[0],
            trading_day=key[1],
            calendar=CAL,
        )
        bumped = replace(verdict, validator_version=VALIDATOR_VERSION + 5)
        await store.write_validations([ValidationWrite(*key, "1:stale", bumped)])
        after = await store.checkpoints(SYMBOLS, START, END)
        assert after[key].validator_version == cps[key].validator_version
        due = await store.validation_due(SYMBOLS, START, END, VALIDATOR_VERSION)
        assert [(c.symbol, c.trading_day) for c in due] == [key]  # summary on other data
    finally:
        await store.close()
