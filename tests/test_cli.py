"""The command line as a user runs it: real processes, real exit codes, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import date
from pathlib import Path

import anyio
import pytest

from daemon import exitcodes
from ghtrader_core.store.duckdb.store import DuckDBStore
from tests.pipeline_helpers import GHTRADERD, REPO, run_cli, small_config


def stored(path: Path) -> tuple[int, dict[tuple[str, date], str]]:
    async def go() -> tuple[int, dict[tuple[str, date], str]]:
        store = DuckDBStore(path)
        await store.open()
        counts = await store.table_counts()
        cps = await store.checkpoints(
            ["KQ.m@SHFE.cu", "KQ.m@CFFEX.IF"], date(2025, 1, 1), date(2026, 1, 1)
        )
        await store.close()
        return counts["ticks"], {k: v.fingerprint for k, v in cps.items()}

    return anyio.run(go)


@pytest.mark.slow
def test_backfill_json_summary_then_coverage_agrees_then_nothing_to_do(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    first = run_cli("backfill", "-c", str(cfg), "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert set(summary) >= {"planned", "downloaded", "skipped", "failed", "rows", "wall_s"}
    assert (summary["planned"], summary["downloaded"], summary["failed"]) == (6, 6, 0)
    cov = json.loads(run_cli("coverage", "-c", str(cfg), "--json").stdout)
    assert [c["symbol"] for c in cov] == ["KQ.m@SHFE.cu", "KQ.m@CFFEX.IF"]
    assert all(c["days_present"] == 3 and c["days_missing"] == 0 for c in cov)
    assert sum(c["rows"] for c in cov) == summary["rows"]
    assert cov[0]["first_day"] == "2025-11-03" and cov[0]["last_day"] == "2025-11-05"
    again = json.loads(run_cli("backfill", "-c", str(cfg), "--json").stdout)
    assert (again["downloaded"], again["skipped"], again["rows"]) == (0, 6, 0)
    text = run_cli("coverage", "-c", str(cfg)).stdout
    assert "KQ.m@SHFE.cu" in text and "days_missing" in text


def test_cli_overrides_narrow_the_plan(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    one_day = ["--symbols", "KQ.m@CFFEX.IF", "--start", "2025-11-04", "--end", "2025-11-04"]
    out = run_cli("backfill", "-c", str(cfg), "--json", *one_day)
    assert json.loads(out.stdout)["downloaded"] == 1
    forced = run_cli("backfill", "-c", str(cfg), "--json", *one_day, "--force")
    assert json.loads(forced.stdout)["downloaded"] == 1


@pytest.mark.slow
def test_bad_input_gets_a_clear_message_and_a_documented_code(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    bad_symbol = run_cli("backfill", "-c", str(cfg), "--symbols", "KQ.m@SHFE")
    assert bad_symbol.returncode == exitcodes.USAGE
    assert "malformed main-continuous symbol" in bad_symbol.stderr
    unknown = run_cli("backfill", "-c", str(cfg), "--symbols", "KQ.m@DCE.zz")
    assert unknown.returncode == exitcodes.USAGE and "unknown variety" in unknown.stderr
    holiday = run_cli("backfill", "-c", str(cfg), "--start", "2025-10-01", "--end", "2025-10-08")
    assert holiday.returncode == exitcodes.USAGE
    assert "no trading day between 2025-10-01 and 2025-10-08" in holiday.stderr
    broken = small_config(tmp_path, concurrency=0)
    invalid = run_cli("backfill", "-c", str(broken))
    assert invalid.returncode == exitcodes.CONFIG
    assert "download.concurrency = 0" in invalid.stderr and "Traceback" not in invalid.stderr
    (tmp_path / "afile").write_text("")
    env = {**os.environ, "GHTRADERD_STORE__PATH": str(tmp_path / "afile" / "s.duckdb")}
    unwritable = run_cli("backfill", "-c", str(small_config(tmp_path)), env=env)
    assert unwritable.returncode == exitcodes.CANTCREAT, unwritable.stderr
    assert "Traceback" not in unwritable.stderr
    check = run_cli("check-config", "-c", str(cfg))
    assert check.returncode == 0 and "ok" in check.stdout


def _start(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*GHTRADERD, "backfill", "-c", str(cfg)],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_flush(proc: subprocess.Popen[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:  # JSON log lines: stderr is not a terminal
        if '"event": "flushed"' in line:
            return
    raise AssertionError("the backfill ended before its first flush")


@pytest.mark.slow
def test_sigkill_halfway_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    opts = {"end": "2025-11-14", "latency_s": 0.1, "concurrency": 2}
    ref_dir, cut_dir = tmp_path / "ref", tmp_path / "cut"
    ref_dir.mkdir()
    cut_dir.mkdir()
    ref = small_config(ref_dir, **opts)  # type: ignore[arg-type]
    cut = small_config(cut_dir, **opts)  # type: ignore[arg-type]
    assert run_cli("backfill", "-c", str(ref)).returncode == 0
    proc = _start(cut)
    _wait_for_flush(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _, partial_cps = stored(cut_dir / "store.duckdb")
    assert 0 < len(partial_cps) < 20
    assert run_cli("backfill", "-c", str(cut)).returncode == 0
    assert stored(cut_dir / "store.duckdb") == stored(ref_dir / "store.duckdb")


@pytest.mark.slow
def test_ctrl_c_drains_exits_130_and_a_rerun_finishes(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, end="2025-11-14", latency_s=0.1, concurrency=2)
    proc = _start(cfg)
    _wait_for_flush(proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == exitcodes.INTERRUPTED, err
    assert "stop_requested" in err
    rows, cps = stored(tmp_path / "store.duckdb")
    assert sum(1 for _ in cps) < 20
    done = json.loads(run_cli("backfill", "-c", str(cfg), "--json").stdout)
    assert done["skipped"] == len(cps) and done["downloaded"] == 20 - len(cps)
    assert stored(tmp_path / "store.duckdb")[0] == rows + done["rows"]


@pytest.mark.slow
def test_a_terminal_gets_a_progress_bar(tmp_path: Path) -> None:
    import pty

    cfg = small_config(tmp_path)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*GHTRADERD, "backfill", "-c", str(cfg)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data.decode(errors="replace"))
    proc.wait(timeout=60)
    os.close(leader)
    screen = "".join(chunks)
    assert proc.returncode == 0
    assert "━" in screen and "6/6" in screen  # rich's bar, drawn to its end
    assert '{"' not in screen  # a person gets readable lines, not JSON
    # log lines while the bar is up: the bar's line is erased, the log line written
    # whole, the bar drawn again below it (never a log line glued to the bar)
    erased = [p for p in screen.split("\r\x1b[2K")[1:] if "→" in p.split("\n", 1)[0]]
    assert erased, "no log line was written while the bar was shown"
    for line in screen.replace("\r\n", "\n").split("\n"):
        visible = line.rsplit("\r", 1)[-1]  # what a carriage return leaves on screen
        assert not ("→" in visible and "━" in visible), line
