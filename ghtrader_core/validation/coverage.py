"""Coverage of one symbol-day against its sessions: order, gaps, cadence, stray ticks.

Pure and vectorised: timestamps in (UTC ns, row order) and the day's sessions in, a
``CheckResult`` out. Coverage metrics follow the predecessor's per-second counting (a
"strict" window that drops each session's first and last second; a day is fixed-cadence
when most seconds with a tick hold two, the 500 ms snapshot; on such days every
half-second slot without a tick is a "missing half-second"), plus gaps measured tick to
tick, which give each gap an exact start, end and length.

Session boundaries that rest on a low-confidence history row (``soft`` spans, from
``DaySchedule.soft_spans``) never fail a day by themselves: an empty session there, a gap
from its open to the first tick or from the last tick to its close, and ticks outside
every session there are reported at most as warnings, with the row named in the message.
Gaps inside a session are judged as usual.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ghtrader_core.calendar import NS_PER_S, Session
from ghtrader_core.records import Finding, Gap, Severity
from ghtrader_core.validation.results import CheckResult, flag
from ghtrader_core.validation.thresholds import Thresholds

# The predecessor's gap buckets: (metric, lower bound exclusive, upper bound inclusive), s.
GAP_BUCKETS_S = (
    ("gaps_2_5s", 2.0 - 1e-9, 5.0),
    ("gaps_6_15s", 5.0, 15.0),
    ("gaps_16_30s", 15.0, 30.0),
    ("gaps_over_30s", 30.0, float("inf")),
)


def check_order(ts: np.ndarray, th: Thresholds) -> tuple[CheckResult, np.ndarray]:
    """Out-of-order and duplicate timestamps; returns the result and ``ts`` sorted."""
    result = CheckResult()
    n = len(ts)
    steps = np.diff(ts)
    flag(result, "out_of_order", Severity.ERROR, steps < 0, ts[1:], th.max_examples)
    if n < 2 or not result.metrics["out_of_order.count"]:
        ordered = ts
    else:
        ordered = np.sort(ts)
        steps = np.diff(ordered)
    dup = steps == 0
    flag(result, "duplicate_timestamp", Severity.WARN, dup, ordered[1:], th.max_examples)
    return result, ordered


def check_trading_day(
    ordered: np.ndarray, window: tuple[int, int], th: Thresholds
) -> tuple[CheckResult, np.ndarray]:
    """Ticks (sorted) whose timestamp belongs to another trading day, and their mask.

    The ticks of trading day T are exactly those in [18:00 of the previous trading day,
    18:00 of T) Beijing time, so two comparisons replace a calendar lookup per row."""
    result = CheckResult()
    wrong = (ordered < window[0]) | (ordered >= window[1])
    flag(
        result,
        "wrong_trading_day",
        Severity.ERROR,
        wrong,
        ordered,
        th.max_examples,
        message="ticks whose timestamp belongs to another trading day",
    )
    return result, wrong


def check_sessions(
    ordered: np.ndarray,
    sessions: Sequence[Session],
    exchange: str,
    th: Thresholds,
    *,
    wrong_day: np.ndarray | None = None,
    soft: Sequence[tuple[int, int]] = (),
    soft_note: str = "",
) -> CheckResult:
    """Stray ticks, empty sessions, gaps, cadence and per-second counts of sorted ``ts``;
    boundary findings inside ``soft`` spans are capped at warn (``soft_note`` says why)."""
    result = CheckResult()
    m = result.metrics
    gap_ns = int(th.gap_threshold_s(exchange) * NS_PER_S)
    snap_ns = int(th.snapshot_ms * 1e6)
    tol_ns = int(th.cadence_tolerance_ms * 1e6)
    starts = np.array([s.start_ns for s in sessions], dtype=np.int64)
    ends = np.array([s.end_ns for s in sessions], dtype=np.int64)

    expected_s = strict_s = with_tick = two_plus = missing_half = 0
    intervals = off_cadence = in_session = observed = 0
    first_delay: list[float] = []
    last_lag: list[float] = []
    all_gaps: list[Gap] = []
    soft_gaps: list[bool] = []  # aligned with all_gaps: a boundary gap of a soft session
    long_runs: list[np.ndarray] = []  # tick-to-tick lengths over 2 s, for the buckets
    largest_ns = 0
    empty: list[Session] = []
    firm_empty = 0
    for s in sessions:
        weak = _inside(s.start_ns, soft)
        lo = int(np.searchsorted(ordered, s.start_ns, side="left"))
        hi = int(np.searchsorted(ordered, s.end_ns, side="right"))
        seg = ordered[lo:hi]
        n_s = int(s.seconds)
        expected_s += n_s
        strict_s += max(n_s - 2, 0)
        in_session += len(seg)
        if len(seg) == 0:
            empty.append(s)
            firm_empty += not weak
            all_gaps.append(Gap(s.name, s.start_ns, s.end_ns))
            soft_gaps.append(weak)
            long_runs.append(np.array([s.end_ns - s.start_ns]))
            largest_ns = max(largest_ns, s.end_ns - s.start_ns)
            continue
        observed += 1
        lead, trail = int(seg[0] - s.start_ns), int(s.end_ns - seg[-1])
        first_delay.append(lead / NS_PER_S)
        last_lag.append(trail / NS_PER_S)
        inner = np.diff(seg)
        if lead > gap_ns:
            all_gaps.append(Gap(s.name, s.start_ns, int(seg[0])))
            soft_gaps.append(weak)
        inner_gaps = np.flatnonzero(inner > gap_ns)
        all_gaps.extend(Gap(s.name, int(seg[i]), int(seg[i + 1])) for i in inner_gaps)
        soft_gaps.extend([False] * len(inner_gaps))
        if trail > gap_ns:
            all_gaps.append(Gap(s.name, int(seg[-1]), s.end_ns))
            soft_gaps.append(weak)
        long_runs.append(inner[inner > 2 * NS_PER_S])
        long_runs.append(np.array([x for x in (lead, trail) if x > 2 * NS_PER_S], dtype=np.int64))
        largest_ns = max(largest_ns, lead, trail, int(inner.max()) if len(inner) else 0)
        intervals += len(inner)
        off = inner - snap_ns
        np.abs(off, out=off)
        off_cadence += int(np.count_nonzero(off > tol_ns))
        if n_s > 2:
            counts = np.bincount((seg - s.start_ns) // NS_PER_S, minlength=n_s + 1)[1 : n_s - 1]
            with_tick += int(np.count_nonzero(counts))
            two_plus += int(np.count_nonzero(counts >= 2))
            missing_half += int(np.maximum(0, 2 - counts).sum())

    opens = np.array(
        [s.start_ns if s.auction_ns is None else s.auction_ns for s in sessions], dtype=np.int64
    )
    if in_session < len(ordered):  # only then can a tick be outside every session
        _stray_ticks(result, ordered, (starts, ends, opens), th, wrong_day, soft, soft_note)
    else:
        result.metrics.update(
            {"outside_session_s": 0.0, "outside_session.count": 0.0, "outside_session.rate": 0.0}
        )
    fixed = with_tick > 0 and two_plus / with_tick >= th.fixed_cadence_share
    half_ratio = missing_half / (2 * strict_s) if strict_s else 0.0
    largest = largest_ns / NS_PER_S
    m.update(
        {
            "sessions_total": float(len(sessions)),
            "sessions_observed": float(observed),
            "expected_session_s": float(expected_s),
            "expected_session_s_strict": float(strict_s),
            "seconds_with_ticks": float(with_tick),
            "seconds_with_2plus": float(two_plus),
            "two_plus_ratio": two_plus / with_tick if with_tick else 0.0,
            "fixed_cadence": float(fixed),
            "missing_half_seconds": float(missing_half),
            "missing_half_second_ratio": half_ratio,
            "ticks_expected": float(expected_s * NS_PER_S // snap_ns) if snap_ns else 0.0,
            "ticks_in_session": float(in_session),
            "off_cadence_share": off_cadence / intervals if intervals else 0.0,
            "first_tick_delay_s_max": max(first_delay, default=0.0),
            "last_tick_lag_s_max": max(last_lag, default=0.0),
            "last_tick_lag_s_mean": float(np.mean(last_lag)) if last_lag else 0.0,
            "largest_gap_s": largest,
            "gap_threshold_s": gap_ns / NS_PER_S,
            "gaps": float(len(all_gaps)),
        }
    )
    m["tick_ratio"] = m["ticks_in_session"] / m["ticks_expected"] if m["ticks_expected"] else 0.0
    secs = np.concatenate(long_runs) / NS_PER_S if long_runs else np.array([])
    for key, lo_s, hi_s in GAP_BUCKETS_S:
        m[key] = float(np.count_nonzero((secs > lo_s) & (secs <= hi_s)))

    capped = f"; capped at warn: {soft_note}" if soft_note else ""
    if in_session == 0 and sessions:
        weak = not firm_empty
        result.findings.append(
            _finding(
                "missing_day",
                Severity.WARN if weak else Severity.ERROR,
                1,
                (int(starts[0]),),
                "no tick in any session" + (capped if weak else ""),
            )
        )
    elif empty:
        result.findings.append(
            _finding(
                "empty_session",
                Severity.ERROR if firm_empty else Severity.WARN,
                len(empty),
                tuple(s.start_ns for s in empty[: th.max_examples]),
                "sessions without ticks: "
                + ", ".join(s.name for s in empty)
                + (capped if not firm_empty else ""),
            )
        )
    m["missing_day"] = float(in_session == 0)
    m["missing_segments"] = float(len(all_gaps))
    if all_gaps:
        worst = max(g.length_s for g in all_gaps)
        firm_worst = max(
            (g.length_s for g, w in zip(all_gaps, soft_gaps, strict=True) if not w), default=0.0
        )
        severity = Severity.ERROR if firm_worst > th.gap_error_s else Severity.WARN
        note = capped if severity is Severity.WARN and worst > th.gap_error_s else ""
        result.findings.append(
            _finding(
                "gap",
                severity,
                len(all_gaps),
                tuple(g.start_ns for g in all_gaps[: th.max_examples]),
                f"{len(all_gaps)} gaps over {gap_ns / NS_PER_S:g}s, largest {worst:.1f}s{note}",
            )
        )
        kept = sorted(all_gaps, key=lambda g: g.end_ns - g.start_ns, reverse=True)
        result.gaps = sorted(kept[: th.max_gaps], key=lambda g: g.start_ns)
    if fixed and half_ratio >= th.missing_half_warn:
        severity = Severity.ERROR if half_ratio >= th.missing_half_error else Severity.WARN
        result.findings.append(
            _finding(
                "missing_half_seconds",
                severity,
                missing_half,
                (),
                f"{half_ratio:.1%} of half-second slots have no tick",
            )
        )
    elif with_tick and not fixed:
        result.findings.append(
            _finding(
                "irregular_cadence",
                Severity.INFO,
                with_tick - two_plus,
                (),
                f"only {two_plus / with_tick:.0%} of seconds with ticks hold two or more",
            )
        )
    return result


def _inside(ns: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(lo <= ns < hi for lo, hi in spans)


def _stray_ticks(
    result: CheckResult,
    ordered: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray],
    th: Thresholds,
    wrong_day: np.ndarray | None,
    soft: Sequence[tuple[int, int]],
    soft_note: str,
) -> None:
    """Ticks outside every session, beyond the close tolerance and before an open by more
    than ``auction_tolerance_s`` or the session's own call auction, whichever is longer."""
    starts, ends, opens = bounds
    if len(starts) == 0:
        outside = np.ones(len(ordered), dtype=bool)
    else:
        idx = np.searchsorted(starts, ordered, side="right") - 1
        prev = np.clip(idx, 0, len(starts) - 1)
        nxt = np.clip(idx + 1, 0, len(starts) - 1)
        inside = (idx >= 0) & (ordered <= ends[prev])
        after_close = (idx >= 0) & (ordered <= ends[prev] + int(th.close_tolerance_s * NS_PER_S))
        tolerated = np.minimum(starts - int(th.auction_tolerance_s * NS_PER_S), opens)
        before_open = (ordered < starts[nxt]) & (ordered >= tolerated[nxt])
        outside = ~(inside | after_close | before_open)
    if wrong_day is not None:
        outside &= ~wrong_day
    seconds = len(np.unique(ordered[outside] // NS_PER_S)) if outside.any() else 0
    weak = np.zeros(len(ordered), dtype=bool)
    for lo, hi in soft:
        weak |= (ordered >= lo) & (ordered < hi)
    firm = outside & ~weak
    firm_seconds = len(np.unique(ordered[firm] // NS_PER_S)) if firm.any() else 0
    result.metrics["outside_session_s"] = float(seconds)
    severity = Severity.ERROR if firm_seconds > th.outside_error_s else Severity.WARN
    note = ""
    if severity is Severity.WARN and seconds > th.outside_error_s and soft_note:
        note = f"; capped at warn: {soft_note}"
    flag(
        result,
        "outside_session",
        severity,
        outside,
        ordered,
        th.max_examples,
        message=f"ticks outside sessions in {seconds} distinct seconds{note}",
    )


def _finding(
    check: str, severity: Severity, count: int, stamps: tuple[int, ...], message: str
) -> Finding:
    return Finding(check, severity, count, stamps, message=message)
