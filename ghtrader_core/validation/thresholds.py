"""The numbers the checks judge by: one frozen value, built from config by the daemon.

They live in the core (not in the daemon's config model) so that the checks stay pure
functions of a frame, a calendar and this value, and so that tests and benchmarks can
build one without a config file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Thresholds:
    # coverage
    gap_s: float = 5.0  # a run without ticks inside a session longer than this is a gap
    gap_s_by_exchange: Mapping[str, float] = field(default_factory=dict)
    gap_error_s: float = 30.0  # any gap longer than this fails the day
    auction_tolerance_s: float = 300.0  # ticks this long before a session opens are expected
    close_tolerance_s: float = 5.0  # ticks this long after a session closes are expected
    outside_error_s: float = 60.0  # more seconds than this with ticks outside sessions: error
    snapshot_ms: float = 500.0  # the exchanges' snapshot interval
    cadence_tolerance_ms: float = 1.0  # an interval within this of snapshot_ms is on cadence
    fixed_cadence_share: float = 0.8  # share of seconds with >= 2 ticks for a fixed cadence
    missing_half_warn: float = 0.02  # share of half-second slots without a tick: warn
    missing_half_error: float = 0.10  # ... and fail
    min_rows: int = 32  # fewer rows than this fail the day
    # field quality
    core_null_error_rate: float = 0.01  # core field null rate above this fails the day
    l5_null_warn_rate: float = 0.05  # mean null rate of levels 2..5 on L5 exchanges
    l5_exchanges: tuple[str, ...] = ("SHFE", "INE")
    jump_mad_k: float = 30.0  # jump: |return| > k x 1.4826 x median |nonzero return| ...
    jump_min_ticks: float = 20.0  # ... and more than this many ticks
    # what is kept
    max_examples: int = 10  # example timestamps per finding
    max_gaps: int = 200  # gap rows kept per symbol-day (the largest)

    def gap_threshold_s(self, exchange: str) -> float:
        return float(self.gap_s_by_exchange.get(exchange, self.gap_s))
