"""``ghtraderd validate`` and ``ghtraderd report`` end to end on a small DuckDB store."""

from __future__ import annotations

import json
import os
import re
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from daemon import exitcodes
from daemon.cli import main as cli
from daemon.logs import configure_logging
from tests.pipeline_helpers import run_cli, small_config
from tests.validation_helpers import ingest

SYMBOLS = ("KQ.m@SHFE.cu", "KQ.m@DCE.m")


@pytest.fixture(autouse=True)
def _log_to_this_tests_stderr() -> None:
    """Commands configure logging onto the stderr of the moment; under capsys that stream
    is closed after the test, so every test starts by pointing logging at its own."""
    configure_logging("warning", "json")


def config(tmp_path: Path, faults: str = "") -> Path:
    extra = f"[source.synthetic.faults]\n{faults}\n" if faults else ""
    return small_config(tmp_path, symbols=SYMBOLS, end="2025-11-05", extra=extra)


def json_out(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    out = json.loads(lines[-1])
    assert isinstance(out, dict), out
    return out


def test_validate_does_nothing_after_an_inline_validated_backfill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config(tmp_path))
    anyio.run(ingest, Path(cfg))
    assert cli(["validate", "-c", cfg]) == exitcodes.OK
    assert "nothing to re-validate" in capsys.readouterr().out
    assert cli(["validate", "-c", cfg, "--full", "--json"]) == exitcodes.OK
    out = json_out(capsys)
    assert (out["due"], out["validated"], out["ok"], out["fail"]) == (6, 6, 6, 0)
    assert (
        cli(
            [
                "validate",
                "-c",
                cfg,
                "--symbols",
                "KQ.m@DCE.m",
                "--start",
                "2025-11-04",
                "--full",
                "--json",
            ]
        )
        == exitcodes.OK
    )
    assert json_out(capsys)["validated"] == 2


def test_validate_exits_1_when_a_revalidated_day_fails_and_report_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config(tmp_path, "gap = 1.0\ncrossed_book = 0.3"))
    anyio.run(partial(ingest, Path(cfg), validate=False))
    assert cli(["report", "-c", cfg, "--json"]) == exitcodes.OK
    before = json_out(capsys)
    assert before["symbols"][0]["status_counts"]["unvalidated"] == 3

    assert cli(["validate", "-c", cfg]) == exitcodes.DAYS_FAILED
    out = capsys.readouterr().out
    assert "re-validated 6 days" in out and "fail 6" in out and "gap" in out
    assert cli(["validate", "-c", cfg]) == exitcodes.OK  # nothing re-validated: nothing failed

    assert cli(["report", "-c", cfg, "--json", "--top", "2"]) == exitcodes.OK
    report = json_out(capsys)
    assert report["start"] == "2025-11-03" and report["end"] == "2025-11-05"
    cu = report["symbols"][0]
    assert cu["symbol"] == "KQ.m@SHFE.cu" and cu["days"] == 3
    assert cu["status_counts"] == {"ok": 0, "warn": 0, "fail": 3, "unvalidated": 0}
    assert len(cu["worst_days"]) == 2 and "gap" in cu["worst_days"][0]["checks"]
    assert len(cu["largest_gaps"]) == 2 and cu["largest_gaps"][0]["length_s"] >= 60
    gap = cu["largest_gaps"][0]
    assert re.fullmatch(r"2025-1\d-\d\d \d\d:\d\d:\d\d\.\d{3}", gap["start"])  # Beijing time
    assert gap["start"] < gap["end"] and gap["end_ns"] - gap["start_ns"] >= 60 * 10**9
    assert cli(["report", "-c", cfg]) == exitcodes.OK
    text = capsys.readouterr().out
    assert "worst days" in text and "largest gaps" in text and "KQ.m@DCE.m" in text


def test_the_commands_as_processes_with_documented_exit_codes(tmp_path: Path) -> None:
    cfg = str(config(tmp_path, "non_positive_price = 1.0"))
    env = {**os.environ, "GHTRADERD_VALIDATION__ENABLED": "false"}
    assert run_cli("backfill", "-c", cfg, env=env).returncode == exitcodes.OK
    done = run_cli("validate", "-c", cfg, "--json")
    assert done.returncode == exitcodes.DAYS_FAILED, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["fail"] == 6 and summary["failed_days"][0]["checks"] == ["non_positive_price"]
    bad = run_cli("validate", "-c", cfg, "--start", "2025-11-09", "--end", "2025-11-01")
    assert bad.returncode == exitcodes.USAGE and "empty date range" in bad.stderr
    assert run_cli("report", "-c", cfg).returncode == exitcodes.OK
