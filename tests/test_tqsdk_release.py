"""What a worker gives back after each day (``release.py``), against the installed tqsdk and the
local stand-in server: the private shape it relies on is there, releasing empties it, the next
day is still exact; an unknown shape is left alone; an empty day after a release is repeated
on a fresh TqApi."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ghtrader_core.sources.tqsdk.api import RealApiFactory, TicksJob
from ghtrader_core.sources.tqsdk.release import Session, releasable, release_day
from ghtrader_core.sources.tqsdk.source import Credentials
from tests.sources_helpers import FakeTqApi, FakeWorld, real_cu_frame
from tests.test_sources_tqsdk_e2e import stand_in
from tests.tqsdk_server import running

D12, D16 = date(2019, 9, 12), date(2019, 9, 16)
CU = "SHFE.cu1909"


@pytest.fixture
def factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RealApiFactory]:
    s = stand_in()
    with running(s):
        for key, value in s.env().items():
            monkeypatch.setenv(key, value)
        yield RealApiFactory(Credentials(s.user, s.password), 30.0, tmp_path / "cache")


def exact(frame: pd.DataFrame, day: date) -> None:
    want = real_cu_frame(day)
    got = frame.iloc[-len(want):].reset_index(drop=True)  # a cached previous day adds one
    assert got["id"].tolist() == want["id"].tolist()
    assert got["last_price"].tolist() == want["last_price"].tolist()


def test_the_installed_tqsdk_keeps_a_day_where_release_looks_and_gives_it_back(
    factory: RealApiFactory,
) -> None:
    api: Any = factory()
    try:
        assert releasable(api)
        exact(TicksJob(CU, D12).run(api), D12)
        assert len(api._data["ticks"][CU]["data"]) >= len(real_cu_frame(D12))
        assert len(api._sync_diffs) > 0  # wait_update(_task=...) accumulates every page
        assert release_day(api, CU)
        assert len(api._data["ticks"][CU]["data"]) == 0 and api._sync_diffs == []
        exact(TicksJob(CU, D16).run(api), D16)  # the next day still downloads exactly
        assert release_day(api, CU) and len(api._data["ticks"][CU]["data"]) == 0
    finally:
        api.close()


def test_an_unknown_shape_is_left_alone() -> None:
    class Other:
        def __init__(self) -> None:
            self._sync_diffs = [{"a": 1}]
            self._data: dict[str, Any] = {"ticks": {CU: {"data": {"1": {}}}}}  # not an Entity

    other = Other()
    assert not releasable(object()) and not releasable(other)
    assert not release_day(other, CU)
    assert other._sync_diffs == [{"a": 1}] and other._data["ticks"][CU]["data"] == {"1": {}}


class _Mirror(FakeTqApi):
    """The fake TqApi with TqSdk's data tree; its first instance withholds the second day, as
    a server would that believes the connection already holds those ids."""

    def __init__(self, world: FakeWorld) -> None:
        super().__init__(world)
        from tqsdk.entity import Entity

        self._data = Entity()
        self._data._instance_entity([])
        self._sync_diffs: list[Any] = []

    def get_tick_data_series(self, symbol: Any, start_dt: Any, end_dt: Any,
                             adj_type: str | None = None) -> pd.DataFrame:
        frame = super().get_tick_data_series(symbol, start_dt, end_dt, adj_type)
        if self._number == 0 and start_dt == D16:
            return pd.DataFrame()
        return frame


def test_an_empty_day_after_a_release_is_repeated_on_a_fresh_tqapi() -> None:
    world = FakeWorld(ticks={(CU, D12): real_cu_frame(D12), (CU, D16): real_cu_frame(D16)})
    session = Session(lambda: _Mirror(world), close=lambda api: api.close() if api else None)
    exact(session.run(TicksJob(CU, D12)), D12)
    assert session.released and len(world.created_on) == 1
    exact(session.run(TicksJob(CU, D16)), D16)
    assert len(world.created_on) == 2 and world.closed_on[0][0] == 0
    # an empty day from a TqApi that never released one is believed as it is
    fresh = Session(lambda: _Mirror(world), close=lambda api: api.close() if api else None)
    assert len(fresh.run(TicksJob(CU, date(2019, 9, 13)))) == 0
    assert len(world.created_on) == 3
