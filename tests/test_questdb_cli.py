"""``ghtraderd`` on QuestDB as a user runs it: real processes against the real server.

Backfill, rerun, ``--force`` and a ``kill -9`` of the backfill end with exactly what the
embedded store holds on the same config; a wrong password is one line and exit 77 from
every command. The server is the session's (``tests/questdb_server.py``); each test
drops the store's tables first.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.pipeline_helpers import GHTRADERD, REPO, run_cli
from tests.questdb_helpers import drop_all, duckdb_twin, env_with_password, questdb_config
from tests.questdb_server import Endpoint


def cli(cfg: Path, endpoint: Endpoint, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, "-c", str(cfg), env=env_with_password(endpoint.password), timeout=300)


def start_backfill(cfg: Path, endpoint: Endpoint) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*GHTRADERD, "backfill", "-c", str(cfg)],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_with_password(endpoint.password),
    )


def wait_for_flush(proc: subprocess.Popen[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:  # JSON log lines: stderr is not a terminal
        if '"event": "flushed"' in line:
            return
    raise AssertionError("the backfill ended before its first flush")


@pytest.mark.parametrize(
    "command", [["backfill"], ["coverage"], ["check-config", "--ping"], ["report"]]
)
async def test_a_wrong_password_is_one_line_and_exit_77(
    tmp_path: Path, questdb: Endpoint, command: list[str]
) -> None:
    cfg = questdb_config(tmp_path / "q.toml", questdb)
    done = run_cli(*command, "-c", str(cfg), env=env_with_password("not-the-password"))
    assert done.returncode == 77, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "refused" in lines[0] and "invalid username/password" in lines[0]
    assert "not-the-password" not in done.stderr + done.stdout


@pytest.mark.slow
async def test_backfill_kill9_rerun_force_equal_the_embedded_store(
    tmp_path: Path, questdb: Endpoint
) -> None:
    await drop_all(questdb)
    cfg = questdb_config(tmp_path / "q.toml", questdb, end="2025-11-14", latency_s=0.1)
    twin = duckdb_twin(tmp_path / "d.toml", cfg, tmp_path / "d.duckdb")
    assert run_cli("backfill", "-c", str(twin)).returncode == 0

    proc = start_backfill(cfg, questdb)
    wait_for_flush(proc)
    proc.send_signal(signal.SIGKILL)  # the backfill dies between two batches, or inside one
    proc.wait(timeout=30)
    first = cli(cfg, questdb, "backfill", "--json")
    assert first.returncode == 0, first.stderr
    assert 0 < json.loads(first.stdout)["downloaded"] < 20  # only what was not checkpointed

    again = cli(cfg, questdb, "backfill", "--json")
    assert json.loads(again.stdout)["downloaded"] == 0
    forced = cli(cfg, questdb, "backfill", "--force", "--json")
    assert forced.returncode == 0 and json.loads(forced.stdout)["downloaded"] == 20

    for command in (["coverage", "--json"], ["report", "--json"]):
        quest = cli(cfg, questdb, *command)
        duck = run_cli(*command, "-c", str(twin))
        assert quest.returncode == duck.returncode == 0, quest.stderr + duck.stderr
        assert json.loads(quest.stdout) == json.loads(duck.stdout), command
    plain = cli(cfg, questdb, "coverage")
    assert plain.stdout == run_cli("coverage", "-c", str(twin)).stdout
