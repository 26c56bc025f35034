"""``ghtraderd sessions`` as a user runs it, and a real backfill across a regime change."""

from __future__ import annotations

import json
from pathlib import Path

from daemon import exitcodes
from tests.pipeline_helpers import run_cli, small_config


def test_sessions_prints_the_hours_of_that_day_and_the_rows_they_come_from() -> None:
    out = run_cli("sessions", "DCE.p", "2015-03-10")
    assert out.returncode == 0, out.stderr
    assert "night    2015-03-09 21:00:00  2015-03-10 02:30:00" in out.stdout
    assert "DCE j;p night introduced 2014-07-07..2015-05-08 21:00-02:30 [two-sources]" in out.stdout
    assert "source: " in out.stdout


def test_sessions_json_names_the_late_open_and_its_confidence() -> None:
    out = run_cli("sessions", "KQ.m@SHFE.cu", "2019-12-26", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    night = info["sessions"][0]
    assert (night["name"], night["start"], night["end"]) == (
        "night",
        "2019-12-25 22:30:00",
        "2019-12-26 01:00:00",
    )
    assert night["auction_start"] == "2019-12-25 22:25:00"
    assert [r["kind"] for r in info["night_rules"]] == ["introduced", "one-off"]
    assert {r["confidence"] for r in info["night_rules"]} == {"two-sources"}
    eb = json.loads(run_cli("sessions", "DCE.eb", "2019-10-09", "--json").stdout)
    assert eb["night_firm"] is False and eb["night_rules"][0]["confidence"] == "inferred"


def test_sessions_with_a_config_applies_its_calendar_entries(tmp_path: Path) -> None:
    extra = (
        '[[calendar.night_hours]]\nfirst = 2018-06-05\nlast = 2018-06-05\nexchanges = ["DCE"]\n'
        'end = "23:00"\n'
    )
    cfg = small_config(tmp_path, extra=extra)
    info = json.loads(run_cli("sessions", "DCE.m", "2018-06-05", "-c", str(cfg), "--json").stdout)
    assert info["sessions"][0]["end"] == "2018-06-04 23:00:00"
    assert info["night_rules"][-1]["ref"] == "config"


def test_sessions_bad_input_is_one_line_and_exit_2() -> None:
    for args in (("DCE.zz", "2015-03-10"), ("DCEm", "2015-03-10"), ("DCE.m", "2015-13-01"),
                 ("DCE.m", "2015-03-07")):  # fmt: skip
        out = run_cli("sessions", *args)
        assert out.returncode == exitcodes.USAGE, args
        assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "Traceback" not in out.stderr


def test_a_real_backfill_across_the_2015_05_08_change_reports_no_session_findings(
    tmp_path: Path,
) -> None:
    # DCE m closed at 02:30 through trading day 2015-05-08 and at 23:30 from 2015-05-11.
    cfg = small_config(tmp_path, symbols=("KQ.m@DCE.m",), start="2015-05-06", end="2015-05-12")
    done = run_cli("backfill", "-c", str(cfg), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["downloaded"] == 5
    report = json.loads(run_cli("report", "-c", str(cfg), "--json").stdout)
    (m,) = report["symbols"]
    assert m["status_counts"] == {"ok": 5, "warn": 0, "fail": 0, "unvalidated": 0}
    assert m["worst_days"] == [] and m["largest_gaps"] == []
