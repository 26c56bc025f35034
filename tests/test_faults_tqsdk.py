"""The TqSdk rows of the fault matrix: real ``ghtraderd`` processes, the real tqsdk, the
local stand-in server. Each asserts the exit code, that the last line is one readable
sentence, that no traceback is printed, and what the store holds afterwards.

Unknown main symbols: the vendor refuses the whole schedule query when one symbol is not
in its table, so the schedule is then fetched symbol by symbol; the unknown symbol is
reported (``schedule_refused``) and its days are dead-lettered as permanent (exit 1),
while the others are ingested.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ghtrader_core.records import Checkpoint, FailedDay
from ghtrader_core.store.duckdb.store import DuckDBStore
from tests.pipeline_helpers import run_cli
from tests.test_sources_tqsdk_e2e import stand_in, write_config
from tests.tqsdk_server import StandIn, closed_port, running

CU, ZN = "KQ.m@SHFE.cu", "KQ.m@SHFE.zn"
D12, D16 = date(2019, 9, 12), date(2019, 9, 16)


@pytest.fixture
def server() -> Iterator[StandIn]:
    with running(stand_in()) as s:
        yield s


def env_for(s: StandIn | None, **overrides: str) -> dict[str, str]:
    env = dict(os.environ, TQSDK_USER="tester", TQSDK_PASSWORD="right-password")
    if s is not None:
        env.update(s.env())
    env.update(overrides)
    return env


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def assert_one_readable_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out
    line = last_line(done)
    assert line.startswith(("ghtraderd: ", "FAILED: ")), out
    assert len(line) < 400 and "\n" not in line
    for word in words:
        assert word in line, line


def stored(path: Path) -> tuple[dict[tuple[str, date], Checkpoint], list[FailedDay]]:
    async def read() -> tuple[dict[tuple[str, date], Checkpoint], list[FailedDay]]:
        store = DuckDBStore(path)
        await store.open()
        try:
            cps = await store.checkpoints([CU, ZN], D12, D16)
            return dict(cps), list(await store.failed_days())
        finally:
            await store.close()

    return asyncio.run(read())


def test_tqsdk_unreachable_on_a_fresh_store_ends_with_75(tmp_path: Path) -> None:
    env = env_for(
        None, TQ_AUTH_URL="http://127.0.0.1:1", TQ_MD_URL=f"ws://127.0.0.1:{closed_port()}"
    )
    done = run_cli("backfill", "-c", str(write_config(tmp_path)), env=env)
    assert done.returncode == 75, done.stderr
    assert_one_readable_line(done, "source unavailable", "cannot reach TqSdk")
    assert stored(tmp_path / "store.duckdb") == ({}, [])


def test_tqsdk_unreachable_with_a_stored_schedule_blames_no_day(tmp_path: Path) -> None:
    async def seed() -> None:
        store = DuckDBStore(tmp_path / "store.duckdb")
        await store.open()
        await store.write_schedule(CU, [(D12, "SHFE.cu1909"), (D16, "SHFE.cu1909")])
        await store.close()

    asyncio.run(seed())
    env = env_for(
        None, TQ_AUTH_URL="http://127.0.0.1:1", TQ_MD_URL=f"ws://127.0.0.1:{closed_port()}"
    )
    done = run_cli("backfill", "-c", str(write_config(tmp_path)), env=env)
    assert done.returncode == 75, done.stderr
    assert_one_readable_line(done, "source unavailable", "cannot reach TqSdk")
    assert stored(tmp_path / "store.duckdb") == ({}, [])  # no day recorded as failed


def test_main_contract_table_unreachable_on_a_fresh_store_ends_with_75(
    server: StandIn, tmp_path: Path
) -> None:
    env = env_for(server, TQ_CONT_TABLE_URL=f"http://127.0.0.1:{closed_port()}/cont.json")
    done = run_cli("backfill", "-c", str(write_config(tmp_path)), env=env)
    assert done.returncode == 75, done.stderr
    assert_one_readable_line(done, "main-contract schedule could not be fetched")
    assert stored(tmp_path / "store.duckdb") == ({}, [])
    assert server.charts == []  # no day was downloaded without its contract


def test_an_unknown_main_symbol_is_dead_lettered_and_the_others_ingested(
    server: StandIn, tmp_path: Path
) -> None:
    config = str(write_config(tmp_path))
    done = run_cli("backfill", "-c", config, "--symbols", CU, ZN, env=env_for(server))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "schedule_refused" in done.stderr and ZN in done.stderr  # reported by name
    checkpoints, failed = stored(tmp_path / "store.duckdb")
    assert set(checkpoints) == {(CU, D12), (CU, D16)}
    assert sorted((f.symbol, f.trading_day, f.permanent) for f in failed) == [
        (ZN, D12, True),
        (ZN, D16, True),
    ]
    assert all("does not know" in f.reason for f in failed)
