"""Field quality of one symbol-day: nulls, book sanity, price and cumulative-field checks.

Pure and vectorised: float64 columns (row order) and their timestamps in, a ``CheckResult``
out. A row-level defect is reported by its most specific check only: a price of zero is a
"non-positive price", not also a jump or an off-grid price, so a finding names the cause.
Levels 2..5 are only judged on exchanges that publish them.

Inline validation must cost a few per cent of ingestion, so each check first asks a
question answered by one reduction (the column's minimum, the largest step, the largest
distance to the tick grid) and builds per-row masks only when that answer says a row is
flagged: clean days, the common case, never pay for the masks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ghtrader_core.records import Finding, Severity
from ghtrader_core.ticks import BOOK_COLUMNS, DEEP_BOOK, LEVELS, PRICE_COLUMNS
from ghtrader_core.validation.results import CheckResult, flag
from ghtrader_core.validation.thresholds import Thresholds

CORE_FIELDS = ("bid_price1", "ask_price1", "last_price", "volume", "open_interest")
BOOK_PRICES = [c for c in BOOK_COLUMNS if "_price" in c]
BOOK_VOLUMES = [c for c in BOOK_COLUMNS if "_volume" in c]
ALL_PRICES = [*PRICE_COLUMNS, *BOOK_PRICES]
GRID_PRICES = [c for c in ALL_PRICES if c != "average"]  # the average is not on the grid
VOLUMES = ["volume", "amount", *BOOK_VOLUMES]
CUMULATIVE = ("volume", "amount")
MAD_SCALE = 1.4826  # MAD of a normal sample x this = its standard deviation
GRID_TOLERANCE = 1e-4  # in ticks: float noise of price / tick_size stays far below


def check_quality(
    cols: Mapping[str, np.ndarray],
    ts: np.ndarray,
    *,
    exchange: str,
    tick_size: float,
    th: Thresholds,
) -> CheckResult:
    """All field checks. ``cols`` maps each present tick column to float64 values."""
    result = CheckResult()
    with np.errstate(all="ignore"):  # NaN and inf rows are findings, not numpy warnings
        # One pass per column: its minimum is NaN exactly when it holds a NaN.
        lows = {name: float(v.min()) if len(v) else np.inf for name, v in cols.items()}
        _finite(result, cols, lows, ts, th)
        nan_counts = _nulls(result, cols, lows, ts, exchange in th.l5_exchanges, th)
        _book(result, cols, nan_counts, ts, th)
        _signs(result, cols, lows, ts, th)
        _range(result, cols, ts, tick_size, th)
        _cumulative(result, cols, lows, ts, th)
        _jumps(result, cols, lows, ts, tick_size, th)
        _grid(result, cols, nan_counts, ts, tick_size, th)
    return result


def _finite(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    lows: Mapping[str, float],
    ts: np.ndarray,
    th: Thresholds,
) -> None:
    """An infinite value (a number too large for float64, an overflow upstream) is never a
    price or a volume: an error, whatever else the row holds."""
    for name, values in cols.items():
        if not len(values) or (lows[name] > -np.inf and float(values.max()) < np.inf):
            continue
        flag(
            result,
            "non_finite",
            Severity.ERROR,
            np.isinf(values),
            ts,
            th.max_examples,
            field=name,
            message=f"{name} is infinite",
        )


def _nulls(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    lows: Mapping[str, float],
    ts: np.ndarray,
    deep_expected: bool,
    th: Thresholds,
) -> dict[str, int]:
    """Null rates; returns the NaN count of each column for the checks after it."""
    n = len(ts)
    deep_rates: list[float] = []
    counts: dict[str, int] = {}
    for name, values in cols.items():
        if np.isnan(lows[name]):
            nulls = np.isnan(values)
            count = int(np.count_nonzero(nulls))
        else:
            nulls, count = None, 0
        counts[name] = count
        rate = count / n if n else 0.0
        result.metrics[f"null_rate.{name}"] = rate
        if name in DEEP_BOOK:
            deep_rates.append(rate)
            continue  # judged as a group below, and only where levels 2..5 exist
        if nulls is None:
            continue
        severity = Severity.WARN
        if name in CORE_FIELDS and rate > th.core_null_error_rate:
            severity = Severity.ERROR
        what = "all values are NaN" if count == n else f"{rate:.3%} NaN"
        flag(result, "null_values", severity, nulls, ts, th.max_examples, field=name, message=what)
    if deep_rates:
        mean = float(np.mean(deep_rates))
        result.metrics["null_rate.l5_mean"] = mean
        if deep_expected and mean > th.l5_null_warn_rate:
            result.findings.append(
                Finding(
                    "l5_null_rate",
                    Severity.WARN,
                    round(mean * n * len(deep_rates)),
                    (),
                    message=f"levels 2..5 are {mean:.1%} NaN on an exchange that publishes them",
                )
            )
    return counts


def _book(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    nan_counts: Mapping[str, int],
    ts: np.ndarray,
    th: Thresholds,
) -> None:
    bid, ask = cols.get("bid_price1"), cols.get("ask_price1")
    if bid is not None and ask is not None:
        crossed = bid >= ask  # NaN compares False
        if crossed.any():
            crossed &= (bid > 0) & (ask > 0)  # an empty side (0) is not a crossed book
        flag(
            result,
            "crossed_book",
            Severity.ERROR,
            crossed,
            ts,
            th.max_examples,
            message="bid1 >= ask1 (crossed or locked book)",
        )
    for side, worse in (("bid", np.greater_equal), ("ask", np.less_equal)):
        bad: np.ndarray | None = None
        for i in range(1, LEVELS):
            inner, outer = cols.get(f"{side}_price{i}"), cols.get(f"{side}_price{i + 1}")
            if inner is None or outer is None or nan_counts[f"{side}_price{i + 1}"] == len(ts):
                continue  # an absent level cannot be out of order
            level_bad = worse(outer, inner)  # NaN compares False: a missing level is no disorder
            bad = level_bad if bad is None else bad | level_bad
        if bad is None:
            continue
        order = "descending" if side == "bid" else "ascending"
        flag(
            result,
            "book_ladder",
            Severity.WARN,
            bad,
            ts,
            th.max_examples,
            field=side,
            message=f"{side} ladder not strictly {order}",
        )


def _signs(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    lows: Mapping[str, float],
    ts: np.ndarray,
    th: Thresholds,
) -> None:
    checks = [(n, "non_positive_price", True) for n in ALL_PRICES]
    checks += [(n, "negative_volume", False) for n in VOLUMES]
    checks.append(("open_interest", "negative_open_interest", False))
    for name, check, zero_is_bad in checks:
        values = cols.get(name)
        if values is None or lows[name] > 0 or (not zero_is_bad and lows[name] >= 0):
            continue  # the minimum already says no row is flagged
        flag(
            result,
            check,
            Severity.ERROR,
            values <= 0 if zero_is_bad else values < 0,
            ts,
            th.max_examples,
            field=name if check != "negative_open_interest" else "",
        )


def _range(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    ts: np.ndarray,
    tick_size: float,
    th: Thresholds,
) -> None:
    last, low, high = cols.get("last_price"), cols.get("lowest"), cols.get("highest")
    if last is None or low is None or high is None or not len(last):
        return
    above, below = last - high, low - last
    eps = 1e-3 * tick_size if tick_size > 0 else 1e-9  # prices on the grid differ by ticks
    if max(above.max(), below.max()) <= eps:  # False when a row holds a NaN
        return
    valid = (last > 0) & (low > 0) & (high > 0)
    flag(
        result,
        "last_outside_range",
        Severity.WARN,
        valid & ((above > eps) | (below > eps)),
        ts,
        th.max_examples,
        message="last price outside [lowest, highest]",
    )


def _cumulative(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    lows: Mapping[str, float],
    ts: np.ndarray,
    th: Thresholds,
) -> None:
    for name in CUMULATIVE:
        values = cols.get(name)
        if values is None:
            continue
        if np.isnan(lows[name]):
            valid = ~np.isnan(values)
            values, stamps = values[valid], ts[valid]
        else:
            stamps = ts
        steps = np.diff(values)
        if not len(steps) or steps.min() >= 0:
            continue
        decreasing = steps < -1e-9 * np.abs(values[:-1])
        flag(
            result,
            "cumulative_decreasing",
            Severity.ERROR,
            decreasing,
            stamps[1:],
            th.max_examples,
            field=name,
            message=f"{name} decreases within the trading day",
        )


def _jumps(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    lows: Mapping[str, float],
    ts: np.ndarray,
    tick_size: float,
    th: Thresholds,
) -> None:
    last = cols.get("last_price")
    if last is None:
        return
    if lows["last_price"] > 0:
        prices, stamps = last, ts
    else:  # NaN or non-positive prices are reported by their own checks; skip those rows
        valid = last > 0
        prices, stamps = last[valid], ts[valid]
    steps = np.abs(np.diff(prices))
    floor = th.jump_min_ticks * tick_size
    if not len(steps) or steps.max() <= floor:
        return  # no step beats even the floor of the threshold
    moves = steps[steps > 0]
    limit = max(th.jump_mad_k * MAD_SCALE * float(np.median(moves)), floor)
    result.metrics["price_jump.threshold"] = limit
    flag(
        result,
        "price_jump",
        Severity.WARN,
        steps > limit,
        stamps[1:],
        th.max_examples,
        message=f"last price moved more than {limit:g} between two ticks",
    )


def _grid(
    result: CheckResult,
    cols: Mapping[str, np.ndarray],
    nan_counts: Mapping[str, int],
    ts: np.ndarray,
    tick_size: float,
    th: Thresholds,
) -> None:
    if tick_size <= 0:
        return
    inv = 1.0 / tick_size
    buf = np.empty(len(ts))
    near = np.empty(len(ts))
    for name in GRID_PRICES:
        values = cols.get(name)
        if values is None or not len(values) or nan_counts.get(name) == len(values):
            continue
        np.multiply(values, inv, out=buf)
        np.subtract(buf, np.rint(buf, out=near), out=buf)  # signed distance to the grid
        if buf.min() >= -GRID_TOLERANCE and buf.max() <= GRID_TOLERANCE:  # False with a NaN
            continue
        np.abs(buf, out=buf)
        off = (buf > GRID_TOLERANCE) & (values > 0)  # NaN compares False
        flag(
            result,
            "off_tick_grid",
            Severity.WARN,
            off,
            ts,
            th.max_examples,
            field=name,
            message=f"{name} off the {tick_size:g} tick grid",
        )
