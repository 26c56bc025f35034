"""The ``[validation]`` config section: defaults, thresholds, switching inline validation off."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config
from daemon.factory import build_calendar, build_validator
from ghtrader_core.records import DayStatus
from ghtrader_core.validation import Thresholds
from tests.pipeline_helpers import REPO, small_config
from tests.validation_helpers import day_of


def test_defaults_are_the_core_thresholds_and_validation_is_on(tmp_path: Path) -> None:
    cfg = load_config(small_config(tmp_path))
    assert cfg.validation.enabled and cfg.validation.thresholds() == Thresholds()
    validator = build_validator(cfg, build_calendar(cfg))
    assert validator is not None
    day, _ = day_of("KQ.m@SHFE.cu", date(2025, 11, 4))
    assert validator(day).status is DayStatus.OK


def test_thresholds_and_per_exchange_gaps_come_from_the_file(tmp_path: Path) -> None:
    extra = """
[validation]
gap_s = 8.0
gap_error_s = 40
l5_exchanges = ["SHFE"]
[validation.gap_s_by_exchange]
CZCE = 12.5
"""
    th = load_config(small_config(tmp_path, extra=extra)).validation.thresholds()
    assert th.gap_threshold_s("CZCE") == 12.5 and th.gap_threshold_s("SHFE") == 8.0
    assert th.gap_error_s == 40 and th.l5_exchanges == ("SHFE",)
    day, _ = day_of("KQ.m@SHFE.cu", date(2025, 11, 4), gap=1.0)
    lenient = load_config(small_config(tmp_path, extra="[validation]\ngap_error_s = 90\n"))
    verdict = build_validator(lenient, build_calendar(lenient))(day)  # type: ignore[misc]
    assert verdict.status is DayStatus.WARN  # the 60 s gap is now under the error bound


def test_disabled_validation_builds_no_validator(tmp_path: Path) -> None:
    cfg = load_config(small_config(tmp_path, extra="[validation]\nenabled = false\n"))
    assert build_validator(cfg, build_calendar(cfg)) is None


@pytest.mark.parametrize(
    "extra, key",
    [
        ("[validation]\ngap_s = 0\n", "validation.gap_s"),
        ("[validation]\nmissing_half_warn = 2\n", "validation.missing_half_warn"),
        ("[validation.gap_s_by_exchange]\nNYSE = 5\n", "validation.gap_s_by_exchange"),
        ("[validation]\ngap_seconds = 5\n", "validation.gap_seconds"),
    ],
)
def test_bad_values_are_refused_with_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(small_config(tmp_path, extra=extra))


def test_the_bench_runs_with_tiny_sizes_and_prints_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "bench/validation.py", "--days", "2", "--accuracy-days", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    result = json.loads(line)
    for key in ("recall", "precision", "unchanged_speedup", "one_new_day_speedup", "inline_share"):
        assert key in result
    assert set(result["recall"].values()) == {1.0} and set(result["precision"].values()) == {1.0}
    assert result["unchanged_days"] == 0 and result["one_new_day_days"] == 1
    assert result["full_days"] == 2 and result["clean_day_findings"] == {}
