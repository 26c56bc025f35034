"""TqApi sessions in worker processes, with the real tqsdk against the local stand-in server:
a day past its deadline has its worker killed and leaves nothing behind; workers are
recycled; frames come back the same whichever way they travel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import psutil  # type: ignore[import-untyped]
import pytest

from daemon.config import load_config
from daemon.factory import build_source
from daemon.pipeline import backfill
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import RetryableError
from ghtrader_core.sources.tqsdk.backend import tqsdk_workers
from ghtrader_core.sources.tqsdk.source import (
    Credentials,
    ProcessRunner,
    TqSdkSettings,
    TqSdkSource,
    real_api_factory,
)
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import SOURCE_COLUMNS
from tests.sources_helpers import real_cu_frame
from tests.test_sources_tqsdk_e2e import served_frame, write_config
from tests.tqsdk_server import StandIn, cont_rows, running

CU = parse_main("KQ.m@SHFE.cu")
D12, D16 = date(2019, 9, 12), date(2019, 9, 16)
CAL = TradingCalendar()


def stand_in(**kw: object) -> StandIn:
    return StandIn(
        ticks={"SHFE.cu1909": served_frame()},
        cont_table={"SHFE.cu": cont_rows([(date(2019, 8, 1), "SHFE.cu1909")])},
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TQSDK_USER", "tester")
    monkeypatch.setenv("TQSDK_PASSWORD", "right-password")
    yield


def serve(s: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s.env().items():
        monkeypatch.setenv(key, value)


def process_source(tmp_path: Path, s: StandIn, **kw: object) -> TqSdkSource:
    settings = replace(
        TqSdkSettings(cache_dir=tmp_path / "cache", wait_timeout_s=30.0, processes=True),
        **kw,  # type: ignore[arg-type]
    )
    source = TqSdkSource(
        CAL, settings, real_api_factory(Credentials(s.user, s.password), settings), user=s.user
    )
    source.use_schedule(str(CU), [(D12, "SHFE.cu1909"), (D16, "SHFE.cu1909")])
    assert isinstance(source.runner, ProcessRunner)
    return source


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def assert_exact(frame: object, day: date) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    served = real_cu_frame(day)
    assert len(frame) == len(served)
    for col in SOURCE_COLUMNS:
        np.testing.assert_array_equal(frame[col].to_numpy(), served[col].to_numpy(), col)


def test_a_day_past_its_deadline_is_killed_and_leaves_no_lock_or_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # pages of 50 ticks; the second page request of the first download is never answered
    with running(stand_in(page_width=50, stall_at_chart=2)) as s:
        serve(s, monkeypatch)
        source = process_source(tmp_path, s, day_timeout_s=4.0)
        runner = source.runner
        assert isinstance(runner, ProcessRunner)
        started = time.monotonic()
        with pytest.raises(RetryableError, match=r"did not finish SHFE\.cu1909 2019-09-12"):
            source.fetch_day(CU, D12)
        assert 4.0 <= time.monotonic() - started < 15
        assert runner.killed == 1 and runner.live == 0
        assert len(s.charts) == 2  # it had been served a page and was waiting for more
        assert files_under(tmp_path / "cache") == []  # no lock file, no half-written series
        day = source.fetch_day(CU, D12)  # the retry: a fresh worker, the same contract
        assert_exact(day.ticks, D12)
        assert runner.created == 2
        source.close()
    assert runner.live == 0


async def test_backfill_retries_the_killed_day_and_stores_everything(
    env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running(stand_in(page_width=50, stall_at_chart=3)) as s:
        serve(s, monkeypatch)
        text = write_config(tmp_path).read_text().replace("day_timeout_s = 20", "day_timeout_s = 8")
        (tmp_path / "tq.toml").write_text(
            text.replace("wait_timeout_s = 1.0", "wait_timeout_s = 30")
        )
        cfg = load_config(tmp_path / "tq.toml")
        source = build_source(cfg, CAL)
        assert isinstance(source, TqSdkSource)
        store = DuckDBStore(cfg.store.path)
        await store.open()
        try:
            summary = await backfill(cfg, store, source, CAL)
        finally:
            source.close()
        assert isinstance(source.runner, ProcessRunner)
        assert source.runner.killed >= 1  # the stalled session (more only on a very busy machine)
        assert (summary.downloaded, summary.failed, summary.rows) == (2, 0, 400)
        for day in (D12, D16):
            assert_exact(await store.read_day(str(CU), day), day)
        assert await store.failed_days() == []
        await store.close()
    assert files_under(tmp_path / "tqsdk-cache") == []


def test_workers_are_recycled_by_days_and_by_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running(stand_in()) as s:
        serve(s, monkeypatch)
        by_days = process_source(tmp_path / "a", s, recycle_after_days=2, max_apis=1)
        pids = []
        for day in (D12, D16, D12):
            assert_exact(by_days.fetch_contract_day("SHFE.cu1909", day), day)
            pids.extend(by_days.runner.worker_pids())  # type: ignore[attr-defined]
        runner = by_days.runner
        assert isinstance(runner, ProcessRunner)
        assert runner.created == 2 and runner.recycled == 1
        first = pids[0]
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == "zombie"
        by_days.close()
        by_rss = process_source(tmp_path / "b", s, recycle_rss_mb=1, max_apis=1)
        for day in (D12, D16):
            by_rss.fetch_contract_day("SHFE.cu1909", day)
        assert isinstance(by_rss.runner, ProcessRunner)
        assert by_rss.runner.recycled == 2 and by_rss.runner.live == 0
        by_rss.close()


def test_frames_travel_the_same_as_pickle_or_arrow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running(stand_in()) as s:
        serve(s, monkeypatch)
        for transfer in ("pickle", "arrow"):
            source = process_source(tmp_path / transfer, s, transfer=transfer, max_apis=1)
            day = source.fetch_day(CU, D16)
            assert_exact(day.ticks, D16)
            assert day.ticks["datetime"].iloc[-1] == 1568617199999500000
            source.close()


def test_worker_count_follows_account_concurrency_and_cores() -> None:
    import os

    cores = len(os.sched_getaffinity(0))
    assert tqsdk_workers(16, 64) == min(16, cores)
    assert tqsdk_workers(16, 1) == 1
    assert tqsdk_workers(1, 8) == 1
