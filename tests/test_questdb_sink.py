"""The pipelined sink (``StagedStore``): batch k+1 is sent while batch k is being applied,
and checkpoints follow visibility, in batch order. The store here is a recorder with the
real ``send_days``/``wait_visible`` signatures; the real store runs this path in
``test_questdb_integration`` and ``test_questdb_cli``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import anyio
import pytest

from daemon.config import SinkConfig
from daemon.events import Observer
from daemon.sink import BatchingSink, StagedStore
from ghtrader_core.errors import PermanentError, RetryableError
from ghtrader_core.records import Checkpoint, FailedDay, ManifestEntry
from ghtrader_core.store.base import DayWrite
from ghtrader_core.store.questdb.store import QuestDBSettings, QuestDBStore
from tests.questdb_helpers import DAY, T0, small_day


class Recorder:
    """Records the order of sends, waits and checkpoints; each hook may be scripted."""

    send_concurrency = 1

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[date, ...]]] = []
        self.sent = 0
        self.second_sent = anyio.Event()
        self.refuse: set[date] = set()
        self.not_visible_once: set[int] = set()

    async def send_days(self, days: Sequence[DayWrite]) -> int:
        self.sent += 1
        if self.sent == 2:  # the second send has begun
            self.second_sent.set()
        if self.refuse & {d.day.trading_day for d in days}:
            raise PermanentError("rejected (invalid): a bad row")
        self.events.append(("send", tuple(d.day.trading_day for d in days)))
        return self.sent

    async def wait_visible(self, ticket: int) -> None:
        if ticket == 1:
            await self.second_sent.wait()  # only a pipelined sink ever gets past this
        if ticket in self.not_visible_once:
            self.not_visible_once.discard(ticket)
            raise RetryableError("WAL table 'ticks' is SUSPENDED")
        self.events.append(("visible", (date.min,) if ticket else ()))

    async def write_days(self, days: Sequence[DayWrite]) -> None:
        await self.wait_visible(await self.send_days(days))

    async def write_checkpoints(
        self, checkpoints: Sequence[Checkpoint], manifest: Sequence[ManifestEntry]
    ) -> None:
        self.events.append(("checkpoint", tuple(c.trading_day for c in checkpoints)))

    async def record_failed(self, failed: Sequence[FailedDay]) -> None:
        self.events.append(("failed", tuple(f.trading_day for f in failed)))


def days(n: int) -> list[DayWrite]:
    return [
        small_day(DAY + timedelta(days=i), datetimes=(T0 + i * 86_400 * 10**9,)) for i in range(n)
    ]


async def run_sink(store: Recorder, writes: list[DayWrite]) -> None:
    sink = BatchingSink(
        store,  # type: ignore[arg-type]
        SinkConfig(flush_days=1, retry_base_s=0, retry_max_s=0),
        Observer(),
        run_id="r",
        source_name="s",
        code_version="0",
    )
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(sink.run)
            async with sink.sender() as send:
                for w in writes:
                    await send.send(w)
            sink.close_input()


def test_the_questdb_store_is_staged() -> None:
    assert isinstance(QuestDBStore(QuestDBSettings()), StagedStore)


async def test_the_next_batch_is_sent_while_the_last_one_is_applied() -> None:
    store = Recorder()
    writes = days(3)
    await run_sink(store, writes)
    kinds = [k for k, _ in store.events]
    assert kinds.index("send", kinds.index("send") + 1) < kinds.index("visible")
    checkpoints = [d for k, d in store.events if k == "checkpoint"]
    assert checkpoints == [(w.day.trading_day,) for w in writes]  # in batch order
    for n, (kind, _) in enumerate(store.events):  # each checkpoint right after a wait
        if kind == "checkpoint":
            assert store.events[n - 1][0] == "visible"
    assert kinds.count("visible") == kinds.count("checkpoint") == 3


async def test_a_refused_batch_fails_alone_and_order_is_kept() -> None:
    store = Recorder()
    writes = days(4)
    store.refuse = {writes[1].day.trading_day}
    await run_sink(store, writes)
    checkpoints = [d for k, d in store.events if k == "checkpoint"]
    assert checkpoints == [(w.day.trading_day,) for w in (writes[0], writes[2], writes[3])]
    assert [d for k, d in store.events if k == "failed"] == [(writes[1].day.trading_day,)]


@pytest.mark.parametrize("ticket", [1, 2])
async def test_a_batch_that_does_not_become_visible_is_re_sent_before_its_checkpoint(
    ticket: int,
) -> None:
    store = Recorder()
    store.not_visible_once = {ticket}
    writes = days(3)
    await run_sink(store, writes)
    checkpoints = [d for k, d in store.events if k == "checkpoint"]
    assert checkpoints == [(w.day.trading_day,) for w in writes]
    assert [k for k, _ in store.events].count("send") == 4  # the one re-send


