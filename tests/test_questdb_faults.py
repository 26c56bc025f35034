"""The real server misbehaving: frozen (SIGSTOP) and killed mid-backfill, a WAL table
suspended; and its log read for configuration the server does not accept.

Freezing and killing need the server the tests started (``own_questdb``); a server of
your own is never touched (those tests skip). Whatever happens, nothing is lost and
nothing is duplicated: the result equals the embedded store's on the same config.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO

import asyncpg
import pytest

from daemon.config import SinkConfig
from daemon.events import Observer
from daemon.sink import BatchingSink
from ghtrader_core.store.questdb.store import QuestDBStore
from tests.pipeline_helpers import run_cli
from tests.questdb_helpers import (
    DAY,
    drop_all,
    duckdb_twin,
    fetch,
    questdb_config,
    small_day,
)
from tests.questdb_server import Endpoint, QuestDBServer
from tests.test_questdb_cli import cli, start_backfill, wait_for_flush

EMPTY_REASON = re.compile(r"does not answer \([^)]*\): ?\"")


def test_the_server_log_names_no_configuration_issue(own_questdb: QuestDBServer) -> None:
    log = own_questdb.log.read_text(errors="replace")
    assert "Server config:" in log and str(own_questdb.root) in log  # our server.conf
    for issue in ("Configuration issues", "Deprecated settings", "nrecogni", "Invalid config"):
        assert issue not in log, log[:4000]


async def test_the_server_runs_with_our_server_conf(questdb: Endpoint) -> None:
    rows = await fetch(
        questdb,
        "SELECT property_path, value FROM (SHOW PARAMETERS) "
        "WHERE property_path IN ('cairo.commit.mode', 'query.timeout')",
    )
    assert {r[0]: r[1] for r in rows} == {"cairo.commit.mode": "sync", "query.timeout": "60s"}


async def test_a_suspended_table_holds_the_checkpoint_until_resumed(
    questdb: Endpoint, questdb_store: QuestDBStore, caplog: pytest.LogCaptureFixture
) -> None:
    store = questdb_store
    conn = await asyncpg.connect(questdb.pg)
    try:
        try:
            await conn.execute("ALTER TABLE ticks SUSPEND WAL")
        except asyncpg.PostgresError as exc:
            pytest.skip(f"the server refuses to suspend a table (not in dev mode): {exc}")
        retries = 0

        async def operator(_: float) -> None:
            nonlocal retries
            retries += 1
            assert await store.checkpoints([DAY_SYMBOL], DAY, DAY) == {}
            if retries == 2:
                await conn.execute("ALTER TABLE ticks RESUME WAL")

        sink = BatchingSink(
            store, SinkConfig(), Observer(), run_id="t", source_name="t", code_version="0",
            sleep=operator,
        )
        day = small_day()
        await sink.flush([day])
        assert retries == 2
        assert (await store.checkpoints([DAY_SYMBOL], DAY, DAY))[(DAY_SYMBOL, DAY)].rows == 2
        assert await store.day_counts(DAY, DAY) == {(DAY_SYMBOL, DAY): 2}
        assert "SUSPENDED" in caplog.text and "ALTER TABLE ticks RESUME WAL" in caplog.text
    finally:
        await conn.close()


DAY_SYMBOL = small_day().day.symbol


def _equal_to_duckdb(cfg: Path, twin: Path, endpoint: Endpoint) -> None:
    assert run_cli("backfill", "-c", str(twin)).returncode == 0
    for command in (["coverage", "--json"], ["report", "--json"]):
        quest, duck = cli(cfg, endpoint, *command), run_cli(*command, "-c", str(twin))
        assert quest.returncode == duck.returncode == 0, quest.stderr + duck.stderr
        assert quest.stdout == duck.stdout, command


class LogPump:
    """Reads a backfill's log (stderr) on a thread, so waiting for a line has a real
    deadline (a flush into a frozen server may log nothing for long)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        self.proc, self.lines, self.changed = proc, list[str](), threading.Condition()
        self.thread = threading.Thread(target=self._pump, args=(proc.stderr,), daemon=True)
        self.thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_for(self, pattern: str, timeout_s: float) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: any(pattern in line for line in self.lines), timeout_s
            )

    def finish(self, timeout_s: float) -> str:
        self.proc.wait(timeout=timeout_s)
        self.thread.join(timeout=10)
        return "".join(self.lines)


@pytest.mark.slow
async def test_server_frozen_mid_backfill_then_thawed(
    tmp_path: Path, questdb: Endpoint, own_questdb: QuestDBServer
) -> None:
    await drop_all(questdb)
    cfg = questdb_config(
        tmp_path / "q.toml", questdb, end="2025-11-12", latency_s=0.05, query_timeout_s=2,
        store_extra="request_timeout_s = 4\nretry_timeout_s = 0\n",
    )
    proc = start_backfill(cfg, questdb)
    try:
        wait_for_flush(proc)
        log = LogPump(proc)
        own_questdb.signal(signal.SIGSTOP)
        try:  # frozen until the backfill retried (a PGWire time-out), at most 10 s: a
            # flush in flight just waits (its time-out grows with the batch's size)
            log.wait_for('"event": "retry"', timeout_s=10)
        finally:
            own_questdb.signal(signal.SIGCONT)
        text = log.finish(timeout_s=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, text[-3000:]
    assert not EMPTY_REASON.search(text), text[-3000:]  # a retry, if any, says why
    twin = duckdb_twin(tmp_path / "d.toml", cfg, tmp_path / "d.duckdb")
    _equal_to_duckdb(cfg, twin, questdb)


@pytest.mark.slow
async def test_server_killed_and_restarted_mid_backfill(
    tmp_path: Path, questdb: Endpoint, own_questdb: QuestDBServer
) -> None:
    await drop_all(questdb)
    cfg = questdb_config(tmp_path / "q.toml", questdb, end="2025-11-12", latency_s=0.05)
    proc = start_backfill(cfg, questdb)
    try:
        wait_for_flush(proc)
        log = LogPump(proc)
        own_questdb.kill()  # SIGKILL: a crash, in-flight commits lost
        log.wait_for('"event": "retry"', timeout_s=60)
        own_questdb.start()
        text = log.finish(timeout_s=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, text[-3000:]
    again = cli(cfg, questdb, "backfill", "--json")
    assert again.returncode == 0 and '"downloaded": 0' in again.stdout
    twin = duckdb_twin(tmp_path / "d.toml", cfg, tmp_path / "d.duckdb")
    _equal_to_duckdb(cfg, twin, questdb)
    twice = await fetch(
        questdb,
        "SELECT ts, symbol, id FROM (SELECT ts, symbol, id, count() n FROM ticks "
        "GROUP BY ts, symbol, id) WHERE n > 1 LIMIT 5",
    )
    assert twice == []  # not one tick twice (rows fetched, not counted: see QUESTDB-FACTS)


