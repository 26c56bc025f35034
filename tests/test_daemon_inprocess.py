"""The daemon in-process: one injected clock, no signals installed by the service, driven
through start, a reload that re-plans, and a drain — as arq and uvicorn allow. The clock
given to the composition root is the one every part tells time by: the planner, the
store's checkpoints, ``/status``, the metrics and the stall watch."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import anyio
import pytest

from daemon.app import Daemon
from daemon.config import load_config
from daemon.systemd import Notifier
from tests.clock_helpers import ManualClock


class RecordingNotifier(Notifier):
    def __init__(self) -> None:
        super().__init__("@unused", 0)
        self.sent: list[str] = []

    def notify(self, *assignments: str) -> bool:
        self.sent.append("\n".join(assignments))
        return True


def write(path: Path, tmp_path: Path, symbols: list[str], concurrency: int) -> Path:
    path.write_text(
        f"""
[store]
path = "{tmp_path / 's.duckdb'}"
[source.synthetic]
seed = 5
[ingest]
symbols = {json.dumps(symbols)}
start = 2025-11-03
[download]
concurrency = {concurrency}
[sink]
flush_interval_s = 0.1
[daemon]
state_dir = "{tmp_path}"
[metrics]
address = "127.0.0.1:0"
[log]
format = "json"
"""
    )
    return path


async def until(predicate: Callable[[], object], timeout_s: float = 60) -> None:
    with anyio.fail_after(timeout_s):
        while not predicate():
            await anyio.sleep(0.02)


def metric(daemon: Daemon, name: str) -> float:
    for line in daemon.metrics.render().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no sample {name}")


def reloads_applied(daemon: Daemon) -> float:
    for line in daemon.metrics.render().decode().splitlines():
        if line.startswith('ghtraderd_config_reloads_total{result="applied"}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.slow
async def test_start_reload_and_drain_in_process(tmp_path: Path) -> None:
    path = write(tmp_path / "d.toml", tmp_path, ["KQ.m@SHFE.cu", "KQ.m@DCE.m"], 2)
    # Wednesday 2025-11-05, 18:00 Beijing: Wednesday's day session is over (+45 min)
    clock = ManualClock(datetime(2025, 11, 5, 10, 0, tzinfo=UTC))
    notes = RecordingNotifier()
    daemon = Daemon(path, load_config(path), notifier=notes, clock=clock)
    codes: list[int] = []

    async def serve() -> None:
        codes.append(await daemon.serve())

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        await until(lambda: daemon.phase == "idle" and daemon._through == date(2025, 11, 5))
        assert notes.sent[0].startswith("READY=1")
        first = daemon.last_summary
        assert first is not None and (first.planned, first.failed) == (6, 0)
        assert reloads_applied(daemon) == 0  # the start-up load is not a reload
        assert daemon.http_port not in (None, 0)
        status = await anyio.to_thread.run_sync(
            lambda: json.load(urllib.request.urlopen(f"http://127.0.0.1:{daemon.http_port}/status"))
        )
        assert status["phase"] == "idle" and status["through"] == "2025-11-05"
        # every timestamp came from the injected clock, none from the machine's
        first_at = clock.at
        assert {v["at"] for v in status["last_success"].values()} == {first_at.isoformat()}
        assert metric(daemon, "ghtraderd_last_success_timestamp_seconds") == first_at.timestamp()
        assert daemon._store is not None
        week = (date(2025, 11, 3), date(2025, 11, 5))
        done = await daemon._store.checkpoints(["KQ.m@SHFE.cu"], *week)
        assert {c.written_at for c in done.values()} == {first_at.replace(tzinfo=None)}
        clock.ticks += 7.0  # the stall watch runs on the clock's monotonic time
        assert daemon.board.stalled_for_s() == 7.0

        # Thursday evening, and a third symbol: the reload re-plans through the new day
        clock.at = datetime(2025, 11, 6, 10, 0, tzinfo=UTC)
        write(path, tmp_path, ["KQ.m@SHFE.cu", "KQ.m@DCE.m", "KQ.m@CFFEX.IF"], 1)
        old_calendar = daemon.calendar
        await daemon.reload()
        assert daemon.calendar is not old_calendar  # a re-plan builds the calendar anew
        assert daemon.calendar.horizon == date(2027, 11, 6)  # dated by the injected clock
        assert daemon.last_reload["at"] == clock.at.isoformat()
        assert reloads_applied(daemon) == 1
        assert "RELOADING=1" in notes.sent[-2] and notes.sent[-1].startswith("READY=1")
        await until(lambda: daemon.phase == "idle" and daemon._through == date(2025, 11, 6))
        second = daemon.last_summary
        assert second is not None
        # 3 symbols x 4 days, of which the first 2 symbols' 3 days were done
        assert (second.planned + second.skipped, second.skipped, second.failed) == (12, 6, 0)
        assert daemon.cfg.download.concurrency == 1
        assert daemon._source is not None and daemon._source.calendar is daemon.calendar  # type: ignore[attr-defined]

        daemon.begin_drain()
        await until(lambda: bool(codes))
    assert codes == [0]
    assert any(n.startswith("STOPPING=1") for n in notes.sent)
    assert not daemon.forced
