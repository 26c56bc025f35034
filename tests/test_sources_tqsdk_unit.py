"""The TqSdk source against a fake TqApi that is checked against the installed tqsdk."""

from __future__ import annotations

import inspect
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import anyio
import numpy as np
import pandas as pd
import pytest

from daemon.config import Config, load_config
from daemon.exitcodes import code_for
from daemon.pipeline import backfill
from daemon.retry import RetryPolicy, call_with_retry
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.errors import (
    FatalError,
    MaintenanceError,
    PermanentError,
    RetryableError,
)
from ghtrader_core.sources.hooks import KeepsCache, NeedsSchedule
from ghtrader_core.sources.tqsdk import errors as tqsdk_errors
from ghtrader_core.sources.tqsdk.backend import tqsdk_credentials
from ghtrader_core.sources.tqsdk.source import (
    TqSdkSettings,
    TqSdkSource,
    import_tqsdk,
    prune_cache,
    tq_tick_columns,
)
from ghtrader_core.store.duckdb.store import DuckDBStore
from ghtrader_core.symbols import parse_main
from tests.clock_helpers import ManualClock
from tests.pipeline_helpers import small_config
from tests.sources_helpers import FakeTqApi, FakeWorld, real_cu_frame, synthetic_tq_frame

CU = parse_main("KQ.m@SHFE.cu")
M = parse_main("KQ.m@DCE.m")
D12, D16 = date(2019, 9, 12), date(2019, 9, 16)
CAL = TradingCalendar()
AT_D16 = datetime(2019, 9, 16, 4, tzinfo=UTC)  # noon in Beijing


def make_source(
    world: FakeWorld, tmp_path: Path, *, at: datetime = AT_D16, **kw: object
) -> TqSdkSource:
    settings = TqSdkSettings(cache_dir=tmp_path / "cache", **kw)  # type: ignore[arg-type]
    world.cache_dir = settings.cache_dir
    return TqSdkSource(CAL, settings, world.factory, user="someone", clock=ManualClock(at))


def cu_world() -> FakeWorld:
    return FakeWorld(
        ticks={("SHFE.cu1909", D12): real_cu_frame(D12), ("SHFE.cu1909", D16): real_cu_frame(D16)},
        schedule={"KQ.m@SHFE.cu": [(D12, "SHFE.cu1909"), (D16, "SHFE.cu1909")]},
    )


# -- the fake cannot drift from the package ------------------------------------------------
def test_fake_signatures_match_installed_tqapi() -> None:
    tqsdk = import_tqsdk()
    for name in ("get_tick_data_series", "query_his_cont_quotes", "close"):
        real = inspect.signature(getattr(tqsdk.TqApi, name))
        fake = inspect.signature(getattr(FakeTqApi, name))
        assert [(p.name, p.kind, p.default) for p in real.parameters.values()] == [
            (p.name, p.kind, p.default) for p in fake.parameters.values()
        ], name


def test_frame_columns_match_tqsdk_data_series() -> None:
    import_tqsdk()
    from tqsdk.data_series import DataSeries

    for contract in ("SHFE.cu1909", "INE.sc2501", "DCE.m2501", "CZCE.SR501", "KQ.m@SHFE.cu"):
        documented = ["id", "datetime", *DataSeries._get_data_cols(contract, 0)]
        assert tq_tick_columns(contract) == [*documented, "symbol", "duration"]
        assert list(synthetic_tq_frame(contract, D12).columns) == tq_tick_columns(contract)
    assert list(real_cu_frame(D12).columns) == tq_tick_columns("SHFE.cu1909")


def test_error_texts_are_those_of_installed_tqsdk() -> None:
    import_tqsdk()
    import tqsdk

    root = Path(tqsdk.__file__).parent
    text = "".join((root / f).read_text(encoding="utf-8") for f in ("api.py", "auth.py"))
    for needle in (
        tqsdk_errors.LOGIN_REFUSED,
        tqsdk_errors.NO_PRO,
        tqsdk_errors.NO_MARKET_GRANT,
        tqsdk_errors.NO_AUTH,
        "运维",
    ):
        assert needle in text, needle
    assert tqsdk.TqTimeoutError.__name__ == "TqTimeoutError"


# -- error classes -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "cls", "words"),
    [
        (Exception("用户权限认证失败 (401,{'error': 'invalid_grant'})"), FatalError, "password"),
        (
            Exception("get_tick_data_series 数据获取方式仅限专业版用户使用，如需购买"),
            FatalError,
            "Pro permission",
        ),
        (
            Exception("调用名称服务失败, 每日 19:00-19:30 为日常运维时间，请稍后再试"),
            MaintenanceError,
            "",
        ),
        (Exception("查询合约服务报错 not found"), PermanentError, "unknown symbol"),
        (AssertionError("下载 SHFE.cu1909 从 1 到 2 的历史数据失败"), RetryableError, "broke off"),
        (ConnectionRefusedError(111, "refused"), tqsdk_errors.SourceUnreachableError, "network"),
        (RuntimeError("something else"), RetryableError, "RuntimeError"),
    ],
)
def test_classify(exc: BaseException, cls: type, words: str) -> None:
    out = tqsdk_errors.classify(exc, user="u")
    assert type(out) is cls
    assert words in str(out)
    if cls is FatalError:
        assert code_for(out) == 77


def test_timeout_class_is_retryable() -> None:
    tqsdk = import_tqsdk()
    out = tqsdk_errors.classify(tqsdk.TqTimeoutError("接收数据超时，请检查客户端及网络是否正常"))
    assert isinstance(out, RetryableError) and not isinstance(out, MaintenanceError)


# -- the source ----------------------------------------------------------------------------
def test_fetch_day_resolves_contract_and_keeps_every_value(tmp_path: Path) -> None:
    world = cu_world()
    source = make_source(world, tmp_path)
    assert isinstance(source, NeedsSchedule) and isinstance(source, KeepsCache)
    source.use_schedule(str(CU), world.schedule[str(CU)])
    try:
        day = source.fetch_day(CU, D16)
    finally:
        source.close()
    assert world.calls == [("ticks", "SHFE.cu1909", D16, D16)]  # one trading day, not two
    assert (day.symbol, day.contract, day.trading_day, day.rows) == (
        str(CU),
        "SHFE.cu1909",
        D16,
        200,
    )
    served = real_cu_frame(D16)
    pd.testing.assert_frame_equal(
        day.ticks[served.columns[:-2]].reset_index(drop=True), served[served.columns[:-2]]
    )
    assert np.isnan(day.ticks["bid_price5"].iloc[-1]) and day.ticks["bid_volume5"].iloc[-1] == 0


@pytest.mark.parametrize(
    ("at", "today"),
    [
        (AT_D16, D16),
        # 23:30 UTC on the 16th is the 17th in Beijing: the exchanges' date, not the host's
        (datetime(2019, 9, 16, 23, 30, tzinfo=UTC), date(2019, 9, 17)),
        (datetime(2019, 12, 2, 4, tzinfo=UTC), date(2019, 12, 2)),
    ],
)
def test_the_schedule_reaches_back_to_start_from_the_clocks_date(
    tmp_path: Path, at: datetime, today: date
) -> None:
    """TqSdk's schedule query counts days back from the newest; the source asks for every
    trading day from ``start`` through the clock's date in Beijing, plus a margin."""
    days = CAL.trading_days(date(2019, 6, 3), date(2019, 12, 31))
    world = FakeWorld(schedule={str(CU): [(d, "SHFE.cu1909") for d in days if d <= today]})
    source = make_source(world, tmp_path, at=at)
    start = date(2019, 9, 2)
    try:
        got = [d for d, _ in source.fetch_schedule([str(CU)], start)[str(CU)]]
    finally:
        source.close()
    assert got[-1] == today
    assert len(got) == len(CAL.trading_days(start, today)) + 10
    assert got[0] < start


def test_one_level_exchange_keeps_deep_book_empty(tmp_path: Path) -> None:
    d = date(2025, 11, 3)
    world = FakeWorld(
        ticks={("DCE.m2601", d): synthetic_tq_frame("DCE.m2601", d)},
        schedule={str(M): [(d, "DCE.m2601")]},
    )
    source = make_source(world, tmp_path)
    source.use_schedule(str(M), world.schedule[str(M)])
    day = source.fetch_day(M, d)
    source.close()
    assert day.rows == 50 and day.ticks["bid_price1"].notna().all()
    assert day.ticks["bid_price2"].isna().all() and day.ticks["ask_volume5"].isna().all()


def test_apis_capped_reused_recycled_and_closed_on_their_thread(tmp_path: Path) -> None:
    days = CAL.trading_days(date(2025, 11, 3), date(2025, 11, 28))[:12]
    contracts = ["DCE.m2601", "DCE.m2605", "DCE.m2609"]
    world = FakeWorld(
        ticks={(c, d): synthetic_tq_frame(c, d, 5) for c in contracts for d in days},
        schedule={str(M): [(d, "DCE.m2601") for d in days]},
    )
    source = make_source(world, tmp_path, max_apis=2, recycle_after_days=4)
    peak = 0

    def one(job: tuple[str, date]) -> None:
        nonlocal peak
        source.fetch_contract_day(*job)
        peak = max(peak, source.live_apis)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one, [(c, d) for c in contracts for d in days]))
    assert 1 <= peak <= 2
    assert 9 <= source.apis_created <= 11  # each serves at most 4 days, then is replaced
    source.close()
    assert source.live_apis == 0
    assert len(world.closed_on) == len(world.created_on)
    for number, thread in world.closed_on:
        assert world.created_on[number] == thread  # closed by the thread that made it
    for c in contracts:
        assert world.max_active[c] == 1  # one contract never downloaded twice at once


def test_connection_error_recreates_the_api(tmp_path: Path) -> None:
    world = cu_world()
    world.errors[("SHFE.cu1909", D12)] = [ConnectionResetError(104, "reset by peer")]
    source = make_source(world, tmp_path, max_apis=1)
    source.use_schedule(str(CU), world.schedule[str(CU)])
    with pytest.raises(RetryableError, match="cannot reach TqSdk"):
        source.fetch_day(CU, D12)
    assert source.fetch_day(CU, D12).rows == 200
    source.close()
    assert len(world.created_on) == 2 and len(world.closed_on) == 2


def test_refused_login_is_fatal_without_the_password(tmp_path: Path) -> None:
    world = cu_world()
    world.login_error = lambda: Exception("用户权限认证失败 (401,{'error': 'invalid_grant'})")
    source = make_source(world, tmp_path)
    source.use_schedule(str(CU), world.schedule[str(CU)])
    with pytest.raises(FatalError, match="login refused for user 'someone'") as info:
        source.fetch_day(CU, D12)
    source.close()
    assert code_for(info.value) == 77


def test_day_without_schedule_entry_is_permanent(tmp_path: Path) -> None:
    source = make_source(cu_world(), tmp_path)
    with pytest.raises(PermanentError, match="no main contract known"):
        source.fetch_day(CU, D12)
    source.close()


def test_caller_deadline_gives_retryable_and_frees_the_contract(tmp_path: Path) -> None:
    world = cu_world()
    world.block = threading.Event()
    source = make_source(world, tmp_path, day_timeout_s=0.05)
    source.use_schedule(str(CU), world.schedule[str(CU)])
    with pytest.raises(RetryableError, match="did not finish"):
        source.fetch_day(CU, D12)
    world.block.set()  # TqSdk's own wait ends; the contract lock is released then
    world.block = None
    source.settings = replace(source.settings, day_timeout_s=10.0)
    assert source.fetch_day(CU, D12).rows == 200
    source.close()


def test_prune_cache_removes_only_that_contract(tmp_path: Path) -> None:
    for name in ("SHFE.cu1909.0.1.5", ".SHFE.cu1909.0.lock", "SHFE.cu1910.0.1.5"):
        (tmp_path / name).write_bytes(b"x")
    assert prune_cache(tmp_path, "SHFE.cu1909") == 2
    assert [p.name for p in tmp_path.iterdir()] == ["SHFE.cu1910.0.1.5"]


# -- with the retry policy and an injected clock ------------------------------------------
async def fetch_with_policy(
    source: TqSdkSource, day: date, policy: RetryPolicy
) -> tuple[object, list[float]]:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    async def fetch() -> object:
        return await anyio.to_thread.run_sync(source.fetch_day, CU, day)

    try:
        return await call_with_retry(fetch, policy, what="t", sleep=sleep), slept
    except Exception as exc:
        return exc, slept


async def test_maintenance_waits_the_configured_window(tmp_path: Path) -> None:
    world = cu_world()
    world.errors[("SHFE.cu1909", D12)] = [
        Exception("每日 19:00-19:30 为日常运维时间，请稍后再试"),
        Exception("服务器维护中"),
    ]
    source = make_source(world, tmp_path)
    source.use_schedule(str(CU), world.schedule[str(CU)])
    policy = RetryPolicy(attempts=3, maintenance_wait_s=2100.0, maintenance_max_waits=4)
    result, slept = await fetch_with_policy(source, D12, policy)
    source.close()
    assert slept == [2100.0, 2100.0]
    assert getattr(result, "rows", None) == 200


async def test_timeouts_back_off_with_jitter_then_give_up(tmp_path: Path) -> None:
    tqsdk = import_tqsdk()
    world = cu_world()
    world.errors[("SHFE.cu1909", D12)] = [tqsdk.TqTimeoutError("超时") for _ in range(5)]
    source = make_source(world, tmp_path)
    source.use_schedule(str(CU), world.schedule[str(CU)])
    policy = RetryPolicy(attempts=3, base_s=10.0, max_s=300.0, jitter=0.2)
    result, slept = await fetch_with_policy(source, D12, policy)
    source.close()
    assert isinstance(result, RetryableError)
    assert len(slept) == 2 and 8.0 <= slept[0] <= 12.0 and 16.0 <= slept[1] <= 24.0


async def test_auth_failure_is_not_retried(tmp_path: Path) -> None:
    world = cu_world()
    world.login_error = lambda: Exception("用户权限认证失败 (401, {})")
    source = make_source(world, tmp_path)
    source.use_schedule(str(CU), world.schedule[str(CU)])
    result, slept = await fetch_with_policy(source, D12, RetryPolicy(attempts=5))
    source.close()
    assert isinstance(result, FatalError) and slept == []


# -- through the pipeline -----------------------------------------------------------------
def tq_config(
    tmp_path: Path, start: str, end: str, symbols: tuple[str, ...] = ("KQ.m@SHFE.cu",)
) -> Config:
    return load_config(small_config(tmp_path, symbols=symbols, start=start, end=end))


async def test_pipeline_stores_schedule_ticks_failures_and_prunes_cache(tmp_path: Path) -> None:
    world = cu_world()
    d11 = date(2019, 9, 11)  # a trading day the fake has no ticks for: recorded, not skipped
    world.schedule[str(CU)].insert(0, (d11, "SHFE.cu1909"))
    world.schedule[str(CU)].insert(0, (date(2019, 9, 10), "SHFE.cu1908"))
    world.errors[("SHFE.cu1908", date(2019, 9, 10))] = [Exception("查询合约服务报错 x")]
    cfg = tq_config(tmp_path, "2019-09-10", "2019-09-16")
    store = DuckDBStore(tmp_path / "s.duckdb")
    await store.open()
    source = make_source(world, tmp_path)
    summary = await backfill(cfg, store, source, CAL)
    source.close()
    assert (summary.downloaded, summary.failed, summary.rows) == (2, 2, 400)
    assert world.schedule_queries == 1
    assert await store.read_schedule(str(CU)) == world.schedule[str(CU)]
    failed = {f.trading_day: f for f in await store.failed_days()}
    assert "no ticks" in failed[d11].reason and not failed[d11].permanent
    assert "unknown symbol" in failed[date(2019, 9, 10)].reason
    assert failed[date(2019, 9, 10)].permanent
    stored = await store.read_day(str(CU), D12)
    assert list(stored["id"]) == list(real_cu_frame(D12)["id"])
    assert set(stored["contract"]) == {"SHFE.cu1909"}
    assert not list((tmp_path / "cache").glob("SHFE.cu1909*"))  # durable days pruned

    # the schedule is reused from the store: no second query
    source = make_source(world, tmp_path)
    again = await backfill(cfg, store, source, CAL, force=True)
    source.close()
    assert world.schedule_queries == 1 and again.downloaded == 2
    await store.close()


def test_credentials_from_env_or_systemd_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TQSDK_USER", raising=False)
    monkeypatch.delenv("TQSDK_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(FatalError, match=r"TQSDK_USER .* and TQSDK_PASSWORD"):
        tqsdk_credentials()
    (tmp_path / "tqsdk_user").write_text("alice\n")
    (tmp_path / "tqsdk_password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    creds = tqsdk_credentials()
    assert (creds.user, creds.password) == ("alice", "s3cret")
    assert "s3cret" not in repr(creds)
    monkeypatch.setenv("TQSDK_USER", "bob")
    assert tqsdk_credentials().user == "bob"
