"""One retry policy for sources and sinks alike: the error's class decides.

``RetryableError``: back off exponentially with jitter, up to ``attempts`` tries (0: no
limit, for a sink that must never drop rows). ``MaintenanceError``: wait the provider's
window, up to ``maintenance_max_waits`` times, without spending attempts. Anything else is
raised at once. ``sleep`` is injectable so tests drive the clock instead of waiting.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import structlog

from ghtrader_core.errors import MaintenanceError, RetryableError

T = TypeVar("T")
log = structlog.get_logger("ghtraderd.retry")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # 0 means retry without limit
    base_s: float = 1.0
    max_s: float = 60.0
    jitter: float = 0.2  # +/- this fraction of each delay
    maintenance_wait_s: float = 2100.0
    maintenance_max_waits: int = 4

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Back-off before try ``attempt + 1`` (``attempt`` >= 1)."""
        raw = min(self.max_s, self.base_s * 2.0 ** (attempt - 1))
        spread: float = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, raw * (1 + spread))


RetryHook = Callable[[int, BaseException, float], None]


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    on_retry: RetryHook | None = None,
) -> T:
    attempt = 0
    waits = 0
    while True:
        try:
            return await fn()
        except MaintenanceError as exc:
            waits += 1
            if waits > policy.maintenance_max_waits:
                raise
            delay = exc.wait_s if exc.wait_s is not None else policy.maintenance_wait_s
            log.warning(
                "maintenance_wait", what=what, wait_s=round(delay, 3), waits=waits, error=str(exc)
            )
        except RetryableError as exc:
            attempt += 1
            if policy.attempts and attempt >= policy.attempts:
                raise
            delay = policy.delay_s(attempt)
            log.warning(
                "retry", what=what, attempt=attempt, delay_s=round(delay, 3), error=str(exc)
            )
            if on_retry is not None:
                on_retry(attempt, exc, delay)
        await sleep(delay)
