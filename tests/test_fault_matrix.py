"""The fault matrix of issue 10, as real ``ghtraderd`` processes: every row ends in its
documented exit code with one readable last line, no traceback, and the store's rows as
they were (or as a clean run leaves them). TqSdk rows: test_faults_tqsdk.py; QuestDB rows:
the QuestDB tests.

Disk full and "unwritable mid-run" use a real size-limited tmpfs (root only; skipped
otherwise): ENOSPC is honoured by root, unlike permission bits or ``chattr +i``, which
this file system does not support.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from daemon import errors_exit, exitcodes
from daemon.instance import InstanceLock
from daemon.planner import last_complete_day
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.sources.replay.source import export_days
from ghtrader_core.symbols import parse_main
from tests.daemon_helpers import write_config as write_run_config
from tests.pipeline_helpers import GHTRADERD, REPO, D, run_cli, small_config, synthetic

Proc = subprocess.CompletedProcess[str]


def one_line(proc: Proc, code: int, *words: str) -> str:
    """Exit ``code``; the last stderr line is one sentence naming ``words``; no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert not last.startswith("{") and " " in last, last  # a sentence, not a log event
    for word in words:
        assert word in last, (word, last)
    return last


def table_rows(store: Path) -> dict[str, int]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in tables}
    finally:
        con.close()


def query(store: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Path]:
    """A config and its store holding 2 symbols x 3 days, filled by a clean backfill."""
    cfg = small_config(tmp_path)
    one_line_ok = run_cli("backfill", "-c", str(cfg))
    assert one_line_ok.returncode == 0, one_line_ok.stderr
    return cfg, tmp_path / "store.duckdb"


# -- the store -----------------------------------------------------------------------------
@pytest.mark.slow
def test_disk_full_blames_no_day_and_ends_73(
    tmp_path: Path, tmpfs: Callable[[int], Path]
) -> None:
    fs = tmpfs(3 << 20)
    cfg = small_config(
        tmp_path,
        end="2025-11-14",
        extra=f'[store]\npath = "{fs / "s.duckdb"}"\nunwritable_timeout_s = 1.0\n',
    )
    cfg.write_text(cfg.read_text().replace(f'[store]\npath = "{tmp_path / "store.duckdb"}"\n', ""))
    proc = run_cli("backfill", "-c", str(cfg))
    one_line(proc, exitcodes.CANTCREAT, "not been writable", "No space left")
    assert '"store_unwritable"' in proc.stderr or "store_unwritable" in proc.stderr
    # no day was blamed; every checkpointed day has exactly its rows
    assert query(fs / "s.duckdb", "SELECT count(*) FROM failed_days") == [(0,)]
    mismatched = query(
        fs / "s.duckdb",
        "SELECT c.symbol, c.trading_day FROM checkpoints c LEFT JOIN (SELECT symbol, "
        "trading_day, count(*) AS n FROM ticks GROUP BY ALL) t USING (symbol, trading_day) "
        "WHERE coalesce(t.n, 0) <> c.row_count",
    )
    assert mismatched == []


@pytest.mark.slow
def test_store_unwritable_for_a_while_loses_nothing(
    tmp_path: Path, tmpfs: Callable[[int], Path]
) -> None:
    """The file system fills mid-run and is freed again: writes wait (backpressure), no
    day is blamed, the run ends 0 with every day stored as a clean run stores it.

    The disk is made full by a filler file written until ENOSPC, whatever the size, so the
    file system only needs room for the whole run once the filler is gone. The finished
    store measured 46.3-47.5 MiB, its peak with the WAL 46.8-48.0 MiB (7 clean runs of
    this config, the tmpfs's used blocks sampled every 5 ms), and 47.0-47.8 MiB after the
    fault (3 runs of this test): the 48 MiB this test had left no room for one more write.
    Recovering needs more than the finished store: DuckDB (64 MB memory_limit) replays
    the writes that reached its WAL during the fault and checkpoints them through its temp
    directory, which took more than the 39 MiB a 64 MiB disk had left. 128 MiB recovers
    with one retry; a real disk freed by an operator has that room."""
    fs = tmpfs(128 << 20)
    store = fs / "s.duckdb"
    cfg = small_config(tmp_path, end="2025-11-21", latency_s=0.15, extra="")
    text = cfg.read_text().replace(str(tmp_path / "store.duckdb"), str(store))
    cfg.write_text(text.replace("[sink]\n", "[sink]\nflush_days = 2\n", 1))
    log = (tmp_path / "err.log").open("w")
    proc = subprocess.Popen(
        [*GHTRADERD, "backfill", "-c", str(cfg)], stdout=subprocess.PIPE, stderr=log, cwd=REPO
    )
    deadline = time.monotonic() + 60
    while '"flushed"' not in (tmp_path / "err.log").read_text():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    filler = fs / "filler"
    with filler.open("wb") as f, pytest.raises(OSError):
        while True:
            f.write(b"\0" * (1 << 20))
            f.flush()
    deadline = time.monotonic() + 30
    while '"store_unwritable"' not in (tmp_path / "err.log").read_text():
        assert time.monotonic() < deadline, "the store never noticed the full disk"
        time.sleep(0.05)
    filler.unlink()
    assert proc.wait(timeout=120) == 0, (tmp_path / "err.log").read_text()[-2000:]
    counts = table_rows(store)
    assert counts["failed_days"] == 0
    (tmp_path / "ref").mkdir()
    ref = run_cli("backfill", "-c", str(small_config(tmp_path / "ref", end="2025-11-21")))
    assert ref.returncode == 0
    ref_counts = table_rows(tmp_path / "ref" / "store.duckdb")
    assert counts["checkpoints"] == ref_counts["checkpoints"] == 30
    assert counts["ticks"] == ref_counts["ticks"]


def test_corrupt_store_is_one_line_73(stored: tuple[Path, Path]) -> None:
    cfg, store = stored
    size = store.stat().st_size
    with store.open("r+b") as f:  # damage data blocks, keep the header
        for offset in range(300_000, size - 300_000, 262_144):
            f.seek(offset)
            f.write(os.urandom(4096))
    proc = run_cli("validate", "-c", str(cfg), "--full")
    one_line(proc, exitcodes.CANTCREAT, "damaged")
    one_line(run_cli("check-config", "-c", str(cfg), "--ping"), exitcodes.CANTCREAT, "damaged")


@pytest.mark.parametrize("command", ["coverage", "report", "failed", "validate"])
def test_read_only_commands_never_create_a_store(tmp_path: Path, command: str) -> None:
    cfg = small_config(tmp_path)
    proc = run_cli(command, "-c", str(cfg))
    one_line(proc, exitcodes.CANTCREAT, "no store at", "store.duckdb")
    assert not (tmp_path / "store.duckdb").exists()


def test_store_locked_by_another_instance_is_75(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, extra=f'[daemon]\nstate_dir = "{tmp_path}"\n')
    from tests.pipeline_helpers import config_obj

    with InstanceLock.for_store(tmp_path, config_obj(cfg).store):
        proc = run_cli("backfill", "-c", str(cfg))
    one_line(proc, exitcodes.TEMPFAIL, "already running")


# -- the daemon's own resources --------------------------------------------------------------
def test_metrics_port_in_use_is_one_line_78(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = write_run_config(
            tmp_path / "run.toml", store=tmp_path / "s.duckdb", state_dir=tmp_path, port=port
        )
        proc = subprocess.run(
            [*GHTRADERD, "run", "-c", str(cfg)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
    one_line(proc, exitcodes.CONFIG, f"127.0.0.1:{port}", "metrics.address")


def test_missing_credentials_are_77(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, extra='[source]\nkind = "tqsdk"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("TQSDK_")}
    env.pop("CREDENTIALS_DIRECTORY", None)
    proc = run_cli("backfill", "-c", str(cfg), env=env)
    one_line(proc, exitcodes.NOPERM, "TQSDK_USER")


# -- configuration -------------------------------------------------------------------------
@pytest.mark.slow
def test_list_keys_from_the_environment_as_plain_strings(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    env = {**os.environ, "GHTRADERD_INGEST__SYMBOLS": "KQ.m@SHFE.cu"}
    proc = run_cli("backfill", "-c", str(cfg), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["planned"] == 3  # one symbol x 3 days
    env["GHTRADERD_INGEST__SYMBOLS"] = "KQ.m@SHFE.cu, KQ.m@DCE.m"
    proc = run_cli("check-config", "-c", str(cfg), env=env)
    assert "symbols KQ.m@SHFE.cu, KQ.m@DCE.m" in proc.stdout
    env["GHTRADERD_INGEST__SYMBOLS"] = "KQ.m@SHFE.zz"
    one_line(run_cli("check-config", "-c", str(cfg), env=env), exitcodes.CONFIG, "zz")


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_replay_path_missing_or_a_file_is_78_at_start(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "ticks"
    if kind == "file":
        path.write_text("x")
    cfg = small_config(
        tmp_path, extra=f'[source]\nkind = "replay"\n[source.replay]\npath = "{path}"\n'
    )
    for command in ("check-config", "backfill"):
        proc = run_cli(command, "-c", str(cfg))
        one_line(
            proc,
            exitcodes.CONFIG,
            str(path),
            "does not exist" if kind == "missing" else "is a file",
        )
    assert not (tmp_path / "store.duckdb").exists()


# -- the command line ----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["validate", "report"])
@pytest.mark.parametrize("symbol", ["KQ.m@SHFE.zz", "cu"])
def test_bad_symbols_on_read_commands_are_2(
    stored: tuple[Path, Path], command: str, symbol: str
) -> None:
    cfg, store = stored
    before = table_rows(store)
    proc = run_cli(command, "-c", str(cfg), "--symbols", symbol)
    one_line(proc, exitcodes.USAGE, symbol.rsplit(".", 1)[-1])
    assert table_rows(store) == before


@pytest.mark.slow
def test_future_and_absurd_dates(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    one_line(
        run_cli("backfill", "-c", str(cfg), "--start", "2099-01-07"),
        exitcodes.USAGE,
        "after the last complete trading day",
    )
    proc = run_cli("backfill", "-c", str(cfg), "--start", "9999-12-30")
    assert proc.returncode == exitcodes.USAGE and "Traceback" not in proc.stderr
    assert "outside the years" in proc.stderr.strip().splitlines()[-1]
    last = last_complete_day(TradingCalendar(), datetime.now(tz=UTC))
    start = TradingCalendar().trading_days(D("2025-11-03"), last)[-2]
    proc = run_cli(
        "backfill",
        "-c",
        str(cfg),
        "--symbols",
        "KQ.m@SHFE.cu",
        "--start",
        str(start),
        "--end",
        "2099-12-31",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["planned"] == 2  # no invented future day
    assert proc.stderr.count("future_days_not_planned") == 1
    assert (
        not (tmp_path / "store.duckdb").exists()
        or max(
            r[0] for r in query(tmp_path / "store.duckdb", "SELECT trading_day FROM checkpoints")
        )
        <= last
    )


def test_duplicate_symbols_are_planned_once(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    proc = run_cli(
        "backfill", "-c", str(cfg), "--symbols", "KQ.m@SHFE.cu", "KQ.m@SHFE.cu", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["planned"] == 3


# -- dead letters ----------------------------------------------------------------------------
@pytest.mark.slow
def test_failed_days_are_listed_by_a_command_and_the_report(tmp_path: Path) -> None:
    cfg = small_config(
        tmp_path,
        extra="",
    )
    text = cfg.read_text().replace("seed = 11\n", "seed = 11\ntimeout_rate = 1.0\n")
    cfg.write_text(text.replace("[download]\n", "[download]\nretry_attempts = 1\n"))
    proc = run_cli("backfill", "-c", str(cfg))
    assert proc.returncode == exitcodes.DAYS_FAILED, proc.stderr
    listed = run_cli("failed", "-c", str(cfg), "--json")
    assert listed.returncode == 0, listed.stderr
    failed = json.loads(listed.stdout)
    assert len(failed) == 6 and {f["permanent"] for f in failed} == {False}
    assert all("time" in f["reason"].lower() for f in failed)
    table = run_cli("failed", "-c", str(cfg))
    assert "KQ.m@SHFE.cu" in table.stdout and "transient" in table.stdout
    report = run_cli("report", "-c", str(cfg), "--json")
    assert len(json.loads(report.stdout)["failed_days"]) == 6
    assert "failed days" in run_cli("report", "-c", str(cfg)).stdout


# -- one store, one source ---------------------------------------------------------------------
@pytest.mark.slow
def test_a_store_does_not_mix_sources(stored: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, store = stored
    replay_dir = tmp_path / "replay"
    cal = TradingCalendar()
    src = synthetic(cal, seed=3)
    days = [
        src.fetch_day(parse_main("KQ.m@SHFE.cu"), d)
        for d in cal.trading_days(D("2025-11-03"), D("2025-11-05"))
    ]
    export_days(days, replay_dir)
    replay_cfg = tmp_path / "replay.toml"
    replay_cfg.write_text(
        cfg.read_text() + f'\n[source]\nkind = "replay"\n[source.replay]\npath = "{replay_dir}"\n'
    )
    before = table_rows(store)
    args = ("backfill", "-c", str(replay_cfg), "--symbols", "KQ.m@SHFE.cu")
    one_line(run_cli(*args), exitcodes.CONFIG, "synthetic", "--replace-source")
    assert table_rows(store) == before
    proc = run_cli(*args, "--replace-source", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["downloaded"] == 3
    sources = query(
        store, "SELECT symbol, source, count(*) FROM checkpoints GROUP BY ALL ORDER BY ALL"
    )
    assert sources == [("KQ.m@CFFEX.IF", "synthetic", 3), ("KQ.m@SHFE.cu", "replay", 3)]


# -- an error nobody classified ----------------------------------------------------------------
def test_an_unclassified_error_is_a_bug_line_with_the_traceback_saved(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(errors_exit.DEBUG_ENV, raising=False)

    def broken() -> None:
        raise KeyError("oops")

    try:
        try:
            broken()
        except KeyError as exc:
            raise ExceptionGroup("task group", [exc]) from None
    except ExceptionGroup as group:
        code = errors_exit.exit_line(group)
    err = capsys.readouterr().err
    assert code == exitcodes.BUG == 70
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "a bug in ghtraderd" in err and errors_exit.REPORT_URL in err and "KeyError" in err
    saved = Path(err.split("traceback saved to ")[1].split(")")[0])
    assert "def broken" not in err and "broken()" in saved.read_text()
    saved.unlink()
