"""``ghtraderd run`` as a real process: READY, reload, refused reload, drain, watchdog."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_helpers import (
    GHTRADERD,
    Daemon,
    free_port,
    has,
    start_daemon,
    stored_days,
    write_config,
)

pytestmark = [
    pytest.mark.skipif(shutil.which(GHTRADERD) is None, reason="ghtraderd not installed"),
    pytest.mark.slow,  # every test runs a daemon process
]


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.notify.close()


def _coverage_queries(d: Daemon) -> float:
    return d.metric('ghtraderd_store_query_duration_seconds_count{query="coverage"}') or 0.0


def _idle_through(d: Daemon, day: str) -> bool:
    s = d.status()
    return bool(s["phase"] == "idle" and s["through"] == day)


def test_ready_endpoints_single_instance_and_stop(tmp_path: Path, daemons: list[Daemon]) -> None:
    port = free_port()
    store = tmp_path / "s.duckdb"
    cfg = write_config(tmp_path / "c.toml", store=store, state_dir=tmp_path, port=port)
    d = start_daemon(cfg, port, tmp_path)
    daemons.append(d)
    ready = d.notify.wait_for(has("READY=1"))
    assert any(line.startswith("STATUS=") for line in ready.split("\n"))
    # READY means the endpoints answer and the store was opened
    code, _ = d.get("/readyz")
    assert code == 200
    d.poll(lambda: _idle_through(d, "2025-11-07"), what="catch-up")
    status = d.status()
    assert status["last_pass"]["downloaded"] == 10 and status["failed_days"] == []
    assert set(status["last_success"]) == {"KQ.m@SHFE.cu", "KQ.m@DCE.m"}
    assert status["jobs_in_flight"] == [] and status["queue_depth"] == 0
    code, body = d.get("/coverage")
    cov = json.loads(body)
    assert code == 200 and [c["days_present"] for c in cov["symbols"]] == [5, 5]
    # served from the cache the pipeline keeps: asking again does not query the store
    # (its latency is a figure of bench/coverage.py, not a timed assertion here)
    before = _coverage_queries(d)
    assert before >= 1  # the cache was seeded from the store once
    for _ in range(20):
        assert d.get("/coverage") == (code, body)
    assert _coverage_queries(d) == before
    assert d.get("/healthz")[0] == 200
    assert d.metric("ghtraderd_jobs_done_total") == 10
    assert d.metric("ghtraderd_config_last_reload_successful") == 1
    code, scrape = d.get("/metrics")
    if shutil.which("promtool"):
        check = subprocess.run(
            ["promtool", "check", "metrics"], input=scrape, capture_output=True, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr

    # a second instance on the same store refuses to start and names the first one
    second = subprocess.run(
        [GHTRADERD, "run", "-c", str(cfg)], capture_output=True, text=True, timeout=60, check=False
    )
    assert second.returncode == 75
    assert f"pid {d.proc.pid}" in second.stderr

    d.signal(signal.SIGTERM)
    d.notify.wait_for(has("STOPPING=1"))
    assert d.wait_exit() == 0


def test_sighup_applies_changed_config(tmp_path: Path, daemons: list[Daemon]) -> None:
    port = free_port()
    store = tmp_path / "s.duckdb"
    cfg_path = tmp_path / "c.toml"
    write_config(cfg_path, store=store, state_dir=tmp_path, port=port)
    d = start_daemon(cfg_path, port, tmp_path)
    daemons.append(d)
    d.notify.wait_for(has("READY=1"))
    d.poll(lambda: _idle_through(d, "2025-11-07"), what="catch-up")
    before = d.status()["config_version"]

    # hot: a new symbol (re-plan), concurrency (live); restart-only: the store path
    write_config(
        cfg_path,
        store=tmp_path / "elsewhere.duckdb",
        state_dir=tmp_path,
        port=port,
        symbols=("KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF"),
        concurrency=1,
    )
    d.signal(signal.SIGHUP)
    d.notify.wait_for(lambda m: "RELOADING=1" in m and "MONOTONIC_USEC=" in m)
    d.notify.wait_for(has("READY=1"))
    status = d.status()
    assert status["config_version"] != before
    assert status["last_reload"]["ok"] is True
    assert status["restart_required"] == ["store.path"]
    assert d.metric("ghtraderd_config_restart_pending") == 1
    d.poll(
        lambda: "KQ.m@CFFEX.IF" in d.status()["last_success"]
        and _idle_through(d, "2025-11-07"),
        what="the new symbol ingested",
    )
    assert d.stop() == 0
    days = stored_days(store)  # still the running store, not the restart-only new path
    assert len(days) == 15 and not (tmp_path / "elsewhere.duckdb").exists()


def test_sighup_with_broken_config_changes_nothing(tmp_path: Path, daemons: list[Daemon]) -> None:
    port = free_port()
    cfg_path = tmp_path / "c.toml"
    write_config(cfg_path, store=tmp_path / "s.duckdb", state_dir=tmp_path, port=port)
    d = start_daemon(cfg_path, port, tmp_path)
    daemons.append(d)
    d.notify.wait_for(has("READY=1"))
    d.poll(lambda: _idle_through(d, "2025-11-07"), what="catch-up")
    before = d.status()
    good_ts = d.metric("ghtraderd_config_last_reload_success_timestamp_seconds")
    assert good_ts and good_ts > 0

    cfg_path.write_text(
        cfg_path.read_text().replace("concurrency = 2", "concurrency = 0"), encoding="utf-8"
    )
    d.signal(signal.SIGHUP)
    d.notify.wait_for(has("RELOADING=1"))
    d.notify.wait_for(has("READY=1"))
    after = d.status()
    assert after["config_version"] == before["config_version"]
    assert after["last_reload"]["ok"] is False
    assert "download.concurrency" in after["last_reload"]["error"]
    assert d.metric("ghtraderd_config_last_reload_successful") == 0
    assert d.metric('ghtraderd_config_reloads_total{result="refused"}') == 1
    assert d.metric("ghtraderd_config_last_reload_success_timestamp_seconds") == good_ts
    assert d.get("/readyz")[0] == 200  # still serving on the old config

    cfg_path.write_text("not toml [", encoding="utf-8")
    d.signal(signal.SIGHUP)
    d.notify.wait_for(has("RELOADING=1"))
    d.notify.wait_for(has("READY=1"))
    assert d.metric('ghtraderd_config_reloads_total{result="refused"}') == 2
    assert d.status()["config_version"] == before["config_version"]
    assert d.stop() == 0


def test_sigterm_mid_backfill_then_restart_matches_uninterrupted(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    def config(name: str, store: Path, port: int) -> Path:
        """Both runs share everything but the store and the port."""
        return write_config(
            tmp_path / name, store=store, state_dir=tmp_path, port=port,
            end="2025-11-14", latency_s=0.05, concurrency=2, flush_days=2,
        )

    # the reference: one uninterrupted run
    ref_store = tmp_path / "ref.duckdb"
    ref_cfg = config("ref.toml", ref_store, free_port())
    ref = subprocess.run(
        [GHTRADERD, "backfill", "-c", str(ref_cfg)], capture_output=True, timeout=120, check=False
    )
    assert ref.returncode == 0, ref.stderr
    reference = stored_days(ref_store)
    assert len(reference) == 20

    port = free_port()
    store = tmp_path / "s.duckdb"
    cfg = config("c.toml", store, port)
    d = start_daemon(cfg, port, tmp_path)
    daemons.append(d)
    d.notify.wait_for(has("READY=1"))
    d.poll(lambda: (d.metric("ghtraderd_jobs_done_total") or 0) >= 2, what="first days done")
    d.signal(signal.SIGTERM)
    d.notify.wait_for(has("STOPPING=1"))
    assert d.wait_exit() == 0
    partial = stored_days(store)
    assert 2 <= len(partial) < 20, "the stop did not land mid-backfill"
    assert all(rows > 0 and fp for rows, fp in partial.values()), "a day without checkpoint"

    d2 = start_daemon(cfg, port, tmp_path)
    daemons.append(d2)
    d2.notify.wait_for(has("READY=1"))
    d2.poll(lambda: _idle_through(d2, "2025-11-14"), what="the rest of the backfill")
    assert d2.status()["last_pass"]["skipped"] == len(partial)
    assert d2.stop() == 0
    assert stored_days(store) == reference


def test_watchdog_stops_when_pipeline_is_wedged(tmp_path: Path, daemons: list[Daemon]) -> None:
    port = free_port()
    cfg = write_config(
        tmp_path / "c.toml",
        store=tmp_path / "s.duckdb",
        state_dir=tmp_path,
        port=port,
        latency_s=3600.0,  # every download hangs
        daemon={"stall_timeout_s": 1.0},
    )
    d = start_daemon(cfg, port, tmp_path, watchdog_usec=200_000)  # ping every 0.1 s
    daemons.append(d)
    d.notify.wait_for(has("READY=1"))
    d.notify.wait_for(has("WATCHDOG=1"))  # healthy while the pass has just started
    first_stalled = d.notify.wait_for(lambda m: "STATUS=" in m and "STALLED" in m)
    assert "WATCHDOG=1" not in first_stalled
    # five more beats, all without a watchdog ping
    for _ in range(5):
        beat = d.notify.wait_for(lambda m: "STATUS=" in m or "WATCHDOG=1" in m, timeout_s=10)
        assert "WATCHDOG=1" not in beat, "watchdog pinged while wedged"
    assert d.get("/healthz")[0] == 503
    assert d.metric("ghtraderd_pipeline_healthy") == 0
    assert len(d.status()["jobs_in_flight"]) == 2

    # drain cannot finish (downloads hang): the second signal exits fast, still cleanly
    d.signal(signal.SIGTERM)
    d.notify.wait_for(has("STOPPING=1"))
    d.signal(signal.SIGTERM)
    assert d.wait_exit(timeout_s=30) == 0


def test_drain_timeout_forces_exit(tmp_path: Path, daemons: list[Daemon]) -> None:
    port = free_port()
    cfg = write_config(
        tmp_path / "c.toml",
        store=tmp_path / "s.duckdb",
        state_dir=tmp_path,
        port=port,
        latency_s=3600.0,
        daemon={"drain_timeout_s": 0.5},
    )
    d = start_daemon(cfg, port, tmp_path)
    daemons.append(d)
    d.notify.wait_for(has("READY=1"))
    d.poll(lambda: len(d.status()["jobs_in_flight"]) == 2, what="downloads in flight")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(timeout_s=30) == 0
    assert "drain_timeout" in d.log()


def test_failed_days_are_retried_on_schedule(tmp_path: Path, daemons: list[Daemon]) -> None:
    port = free_port()
    cfg = write_config(
        tmp_path / "c.toml",
        store=tmp_path / "s.duckdb",
        state_dir=tmp_path,
        port=port,
        daemon={"retry_failed_interval_s": 0.5},
    )
    # every first attempt times out, and one attempt per pass: the first pass fails all
    text = cfg.read_text().replace("latency_s = 0.0", "latency_s = 0.0\ntimeout_rate = 1.0")
    cfg.write_text(text.replace("concurrency = 2", "concurrency = 2\nretry_attempts = 1"))
    d = start_daemon(cfg, port, tmp_path)
    daemons.append(d)
    d.notify.wait_for(has("READY=1"))
    d.poll(lambda: (d.metric('ghtraderd_job_failures_total{kind="retryable"}') or 0) == 10,
           what="the first pass failing every day")
    d.poll(lambda: _idle_through(d, "2025-11-07") and d.status()["failed_days"] == [],
           what="the retry pass")
    assert d.metric("ghtraderd_jobs_done_total") == 10
    assert d.metric("ghtraderd_jobs_failed") == 0
    # the switches: coverage from the store instead of the cache gives the same answer
    cached = d.get("/coverage")[1]
    cfg.write_text(cfg.read_text().replace("[daemon]\n", "[daemon]\ncoverage_cache = false\n"))
    d.signal(signal.SIGHUP)
    d.notify.wait_for(has("RELOADING=1"))
    d.notify.wait_for(has("READY=1"))
    assert d.status()["last_reload"]["ok"] is True
    assert d.get("/coverage")[1] == cached
    assert d.stop() == 0
