"""The real, unmodified tqsdk end to end, against a local stand-in of TqSdk's servers.

TqSdk finds the stand-in through its own ``TQ_AUTH_URL`` / ``TQ_MD_URL`` (and main-contract
table / holiday) environment variables; everything between the source and the socket is
the installed package. The stand-in serves the real SHFE cu1909 extracts; the pipeline
must store exactly what was served.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daemon.config import load_config
from daemon.factory import build_source
from daemon.pipeline import backfill
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import FatalError, PermanentError, RetryableError
from ghtrader_core.sources.tqsdk.backend import TqSdkConfigModel, tqsdk_settings
from ghtrader_core.sources.tqsdk.source import Credentials, TqSdkSource, real_api_factory
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.symbols import parse_main
from ghtrader_core.ticks import SOURCE_COLUMNS
from tests.pipeline_helpers import run_cli
from tests.sources_helpers import real_cu_frame
from tests.tqsdk_server import StandIn, closed_port, cont_rows, running
from tests.typing_helpers import backend_table

CU = parse_main("KQ.m@SHFE.cu")
D12, D16 = date(2019, 9, 12), date(2019, 9, 16)
CAL = TradingCalendar()
WAIT_S = 1.0  # TqSdk's 60 s login wait and 30 s data waits, shortened through config


def served_frame() -> pd.DataFrame:
    return pd.concat([real_cu_frame(D12), real_cu_frame(D16)], ignore_index=True)


def stand_in(**kw: object) -> StandIn:
    return StandIn(
        ticks={"SHFE.cu1909": served_frame()},
        cont_table={"SHFE.cu": cont_rows([(date(2019, 8, 1), "SHFE.cu1909")])},
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    with running(stand_in()) as s:
        for key, value in s.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TQSDK_USER", s.user)
        monkeypatch.setenv("TQSDK_PASSWORD", s.password)
        yield s


def write_config(tmp_path: Path, *, start: str = "2019-09-12", end: str = "2019-09-16") -> Path:
    path = tmp_path / "tq.toml"
    path.write_text(
        f"""
[store]
path = "{tmp_path / "store.duckdb"}"
[source]
kind = "tqsdk"
[source.tqsdk]
max_apis = 2
wait_timeout_s = {WAIT_S}
day_timeout_s = 20
cache_dir = "{tmp_path / "tqsdk-cache"}"
[ingest]
symbols = ["KQ.m@SHFE.cu"]
start = {start}
end = {end}
[download]
concurrency = 2
retry_attempts = 2
retry_base_s = 0.0
retry_max_s = 0.0
"""
    )
    return path


def source_for(tmp_path: Path, user: str, password: str, *, processes: bool = True) -> TqSdkSource:
    cfg = load_config(write_config(tmp_path))
    table = backend_table(cfg.source, "tqsdk", TqSdkConfigModel)
    settings = replace(
        tqsdk_settings(table, cfg.daemon.state_dir, cfg.download.concurrency),
        processes=processes,
    )
    factory = real_api_factory(Credentials(user, password), settings)
    return TqSdkSource(CAL, settings, factory, user=user)


async def test_pipeline_ingests_the_served_ticks_exactly(server: StandIn, tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path))
    source = build_source(cfg, CAL)
    assert source.name == "tqsdk"
    store = DuckDBStore(cfg.store.path)
    await store.open()
    try:
        summary = await backfill(cfg, store, source, CAL)
    finally:
        source.close()
    assert (summary.downloaded, summary.failed, summary.rows) == (2, 0, 400)
    for day in (D12, D16):
        served = real_cu_frame(day)
        stored = await store.read_day(str(CU), day)
        assert list(stored.columns[: len(SOURCE_COLUMNS)]) == SOURCE_COLUMNS
        assert len(stored) == len(served) == 200
        for col in SOURCE_COLUMNS:  # ids, ns timestamps, prices, all five levels
            np.testing.assert_array_equal(
                stored[col].to_numpy(), served[col].to_numpy(), err_msg=col
            )
        assert set(stored["contract"]) == {"SHFE.cu1909"}
        assert set(stored["symbol"]) == {str(CU)}
        assert set(stored["trading_day"]) == {day}
    last = (await store.read_day(str(CU), D16)).iloc[-1]
    assert last["datetime"] == 1568617199999500000  # the 14:59:59.9995 end-of-session stamp
    assert np.isnan(last["bid_price5"]) and last["bid_volume5"] == 0  # empty level as served
    schedule = dict(await store.read_schedule(str(CU)))
    assert schedule[D12] == schedule[D16] == "SHFE.cu1909"
    # exactly one trading day per request: TqSdk was asked from 18:00 the evening before
    focus = sorted(c["focus_datetime"] for c in server.charts if "focus_datetime" in c)
    assert focus == [1568196000000000000, 1568368800000000000]  # 09-11 18:00, 09-13 18:00 CST
    assert not list((tmp_path / "tqsdk-cache").rglob("SHFE.cu1909.0.*"))  # pruned when durable
    await store.close()


def test_refused_login_is_fatal(server: StandIn, tmp_path: Path) -> None:
    source = source_for(tmp_path, server.user, "wrong-password", processes=False)  # timed
    source.use_schedule(str(CU), [(D12, "SHFE.cu1909")])
    started = time.monotonic()
    with pytest.raises(FatalError, match="login refused") as info:
        source.fetch_day(CU, D12)
    source.close()
    assert "wrong-password" not in str(info.value)
    assert "401" in str(info.value) and time.monotonic() - started < 5


def test_account_without_pro_is_fatal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with running(stand_in(features=["futr"])) as s:
        for key, value in s.env().items():
            monkeypatch.setenv(key, value)
        source = source_for(tmp_path, s.user, s.password)
        source.use_schedule(str(CU), [(D12, "SHFE.cu1909")])
        with pytest.raises(FatalError, match="no Pro permission"):
            source.fetch_day(CU, D12)
        source.close()


def test_silent_server_times_out_as_retryable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running(stand_in(silent=True)) as s:
        for key, value in s.env().items():
            monkeypatch.setenv(key, value)
        # threads: the time measured is TqSdk's own wait, without a worker's start-up
        source = source_for(tmp_path, s.user, s.password, processes=False)
        source.use_schedule(str(CU), [(D12, "SHFE.cu1909")])
        started = time.monotonic()
        with pytest.raises(RetryableError, match="TqSdk time-out"):
            source.fetch_day(CU, D12)
        took = time.monotonic() - started
        source.close()
    assert WAIT_S <= took < WAIT_S + 5  # TqSdk's own 60 s login wait, shortened


def test_no_network_is_retryable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TQ_AUTH_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("TQ_MD_URL", f"ws://127.0.0.1:{closed_port()}/md")
    source = source_for(tmp_path, "tester", "pw")
    source.use_schedule(str(CU), [(D12, "SHFE.cu1909")])
    with pytest.raises(RetryableError, match="cannot reach TqSdk"):
        source.fetch_day(CU, D12)
    source.close()


def test_unknown_contract_is_permanent(server: StandIn, tmp_path: Path) -> None:
    source = source_for(tmp_path, server.user, server.password)
    source.use_schedule(str(CU), [(D12, "SHFE.cu2999")])
    with pytest.raises(PermanentError, match="unknown symbol"):
        source.fetch_day(CU, D12)
    source.close()


def test_sources_check_command(server: StandIn, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = dict(os.environ)
    ok = run_cli("sources", "check", "-c", str(config), "--day", "2019-09-16", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "200 rows of SHFE.cu1909, 5 book levels" in ok.stdout
    assert "2019-09-16 14:59:59.9995" in ok.stdout and "ok: the source works" in ok.stdout
    env["TQSDK_PASSWORD"] = "wrong-password"
    refused = run_cli("sources", "check", "-c", str(config), "--day", "2019-09-16", env=env)
    assert refused.returncode == 77
    assert "FAILED: TqSdk login refused for user 'tester'" in refused.stderr
    assert "wrong-password" not in refused.stderr + refused.stdout


def test_backfill_stops_with_77_on_a_refused_login(server: StandIn, tmp_path: Path) -> None:
    env = dict(os.environ, TQSDK_PASSWORD="wrong-password")
    done = run_cli("backfill", "-c", str(write_config(tmp_path)), env=env)
    assert done.returncode == 77, done.stderr
    assert "ghtraderd: TqSdk login refused for user 'tester'" in done.stderr
    assert "wrong-password" not in done.stderr + done.stdout
