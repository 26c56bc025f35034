"""Re-validation on the QuestDB store without a server: which days are due, rows before
marks, and reads of the current generation only (PGWire fake, real store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from ghtrader_core.store.base import ValidationWrite
from tests.questdb_helpers import DAY, FakePg, SenderPool, a_validation, make_store

# -- re-validation -----------------------------------------------------------------------

W = datetime(2025, 11, 24, 1)


def state_row(
    symbol: str, day: int, fingerprint: str, cp_version: int, summary: tuple[Any, ...] | None
) -> tuple[Any, ...]:
    cp = (symbol, datetime(2025, 11, day), "C", 2, fingerprint, cp_version, "ok", W)
    return cp + (summary or (None, None, None, None, None))


async def test_validation_due_is_one_query_and_applies_each_rule() -> None:
    rows: list[Sequence[Any]] = [
        state_row("A", 3, "f1", 3, ("f1", 3, "ok", 1.0, 11)),  # current: not due
        state_row("A", 4, "f2", 3, None),  # never validated
        state_row("A", 5, "f3", 3, ("old", 3, "ok", 1.0, 12)),  # data re-written since
        state_row("A", 6, "f4", 3, ("f4", 2, "ok", 1.0, 13)),  # older validator
        state_row("B", 3, "f5", 0, None),  # not asked for
    ]
    pg = FakePg(answers={"validation_state": rows})
    store = make_store(pg)
    due = await store.validation_due(["A"], DAY, date(2025, 11, 6), 3)
    assert [c.trading_day.day for c in due] == [4, 5, 6] and pg.names() == ["validation_state"]
    every = await store.validation_due(["A"], DAY, date(2025, 11, 6), 3, full=True)
    assert len(every) == 4


async def test_write_validations_writes_rows_before_marking_checkpoints() -> None:

    pg = FakePg()

    def commit_tables(data: bytes) -> None:
        for table in validation_tables(data):
            pg.committed(table)

    pool = SenderPool(on_flush=commit_tables)
    store = make_store(pg, pool)
    await store.write_validations([ValidationWrite("A", DAY, "f1", a_validation())])
    names = pg.names()
    assert names.index("checkpoint_mark") > names.index("wal_tables")
    [(_, marks)] = [c for c in pg.calls if c[0] == "checkpoint_mark"]
    assert marks == (("A", datetime(2025, 11, 3), "f1", 3, "warn"),)
    assert b"validation_summary," in pool.flushed[0] and b'fingerprint="f1"' in pool.flushed[0]


def validation_tables(data: bytes) -> set[str]:
    return {line.split(b",")[0].decode() for line in data.split(b"\n") if line}


async def test_validation_rows_and_gaps_read_the_current_generation_only() -> None:
    pg = FakePg(
        answers={
            "validation_state": [
                state_row("A", 3, "f1", 3, ("f1", 3, "warn", 0.5, 7)),
                state_row("A", 4, "f2", 0, None),
            ],
            "finding_counts": [
                ("A", datetime(2025, 11, 3), 7, "error", "gap_long", 1),
                ("A", datetime(2025, 11, 3), 7, "warn", "crossed_book", 2),
                ("A", datetime(2025, 11, 3), 6, "error", "stale_generation", 5),
            ],
            "gap_max": [
                ("A", datetime(2025, 11, 3), 7, 42.0),
                ("A", datetime(2025, 11, 3), 6, 99.0),
            ],
            "current_gaps": [
                ("A", datetime(2025, 11, 3), "day1", 1, 2, 42.0),
                ("A", datetime(2025, 11, 3), "day2", 3, 4, 30.0),
                ("B", datetime(2025, 11, 3), "day1", 1, 2, 50.0),
            ],
        }
    )
    store = make_store(pg)
    rows = await store.validation_rows(["A"], DAY, date(2025, 11, 4))
    assert (rows[0].status, rows[0].errors, rows[0].warnings) == ("warn", 1, 2)
    assert rows[0].checks == "crossed_book,gap_long" and rows[0].largest_gap_s == 42.0
    assert (rows[1].status, rows[1].errors, rows[1].largest_gap_s) == ("unvalidated", 0, None)
    gaps = await store.largest_gaps(["A", "B"], DAY, date(2025, 11, 4), limit=1)
    assert [(g.symbol, g.length_s) for g in gaps] == [("A", 42.0), ("B", 50.0)]
