"""What ``backfill`` and ``run`` share about living as a process: the instance lock, the
store and source opened and closed in order (closed in ``finally``, off the event loop),
and the one signal loop (first SIGINT/SIGTERM drains, the second stops at once, SIGHUP
reloads where the caller can).

Signals are turned into calls on a ``Controlled`` object here and only here, so the
daemon's service object never installs handlers and tests drive it in-process by calling
``begin_drain`` / ``force_exit`` / ``reload`` themselves.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol

import anyio
import structlog
from anyio.abc import TaskStatus

from daemon.config import Config
from daemon.factory import build_source, build_store
from daemon.instance import InstanceLock
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, TradingCalendar
from ghtrader_core.sources.base import TickSource
from ghtrader_core.store.base import Store

log = structlog.get_logger("ghtraderd.lifecycle")


class Controlled(Protocol):
    """What a signal can ask of a running service."""

    def begin_drain(self) -> None: ...
    def force_exit(self) -> None: ...


async def handle_signals(
    target: Controlled,
    *,
    drain_timeout_s: float,
    reload: Callable[[], Awaitable[None]] | None = None,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """The one signal loop; returns never (cancel its task to stop listening). Started
    with ``TaskGroup.start``, it reports once the handlers are installed."""
    wanted = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if reload else [])
    draining = False
    with anyio.open_signal_receiver(*wanted) as signals:
        task_status.started()
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP and reload is not None:
                await reload()
            elif not draining:
                draining = True
                log.warning(
                    "stop_requested",
                    signal=name,
                    drain_timeout_s=drain_timeout_s,
                    hint="again to stop at once",
                )
                target.begin_drain()
            else:
                log.warning("stop_forced", signal=name)
                target.force_exit()


@asynccontextmanager
async def opened(
    cfg: Config,
    calendar: TradingCalendar,
    *,
    wrap: Callable[[Store], Store] = lambda s: s,
    clock: Clock = SYSTEM_CLOCK,
) -> AsyncIterator[tuple[Store, TickSource]]:
    """Lock, store, source: taken in this order, given back in reverse, always. ``clock``
    is the composition root's, handed to the backends' builders."""
    async with AsyncExitStack() as stack:
        stack.enter_context(InstanceLock.for_store(cfg.daemon.state_dir, cfg.store))
        store = wrap(build_store(cfg, clock=clock))
        await store.open()
        stack.push_async_callback(_close_store, store)
        source = build_source(cfg, calendar, clock=clock)
        stack.push_async_callback(_close_source, source)
        yield store, source


async def _close_store(store: Store) -> None:
    with anyio.CancelScope(shield=True):
        await store.close()


async def _close_source(source: TickSource) -> None:
    """Off the event loop, bounded: a source stuck in a download must not hold the exit."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(5):
        await anyio.to_thread.run_sync(source.close, abandon_on_cancel=True)
