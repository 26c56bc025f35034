"""The session plugin's CI rule: a QuestDB test that skips where the server could run is
a failure under ``CI=true``; where it cannot run (no script, no Java) the skip stands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.questdb_server import REPO, why_unavailable

SKIPPING = """
import pytest

@pytest.mark.questdb
def test_skips():
    pytest.skip("pretend the server was not there")
"""


def run_pytest(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.questdb_server", "-q", "-p",
         "no:cacheprovider", "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHTRADER_TEST_QUESTDB")}
    env.pop("CI", None)
    return {**env, **extra}


@pytest.mark.skipif(why_unavailable() is not None, reason="needs Java 17 and the server script")
def test_a_skip_is_a_failure_in_ci_where_the_server_can_run(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, clean_env(CI="true"))
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout
    assert "CI=true and a QuestDB server is available" in done.stdout
    assert run_pytest(tmp_path, clean_env()).returncode == 0  # outside CI: a skip


def test_a_skip_stands_where_the_server_cannot_run(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, clean_env(CI="true", QUESTDB_START_SH=str(tmp_path / "none")))
    assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout
