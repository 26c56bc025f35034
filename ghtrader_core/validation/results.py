"""What a group of checks returns, and the one way a boolean mask becomes a finding."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ghtrader_core.records import Finding, Gap, Severity


@dataclass
class CheckResult:
    """Findings, metrics and gaps of one group of checks on one symbol-day."""

    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    def extend(self, other: CheckResult) -> None:
        self.findings.extend(other.findings)
        self.metrics.update(other.metrics)
        self.gaps.extend(other.gaps)


def examples(stamps: np.ndarray, limit: int) -> tuple[int, ...]:
    return tuple(int(x) for x in stamps[:limit])


def flag(
    result: CheckResult,
    check: str,
    severity: Severity,
    mask: np.ndarray,
    stamps: np.ndarray,
    limit: int,
    *,
    field: str = "",
    message: str = "",
    metric: str | None = None,
) -> int:
    """Add a finding when ``mask`` has any True row, with count and rate as metrics.

    ``stamps`` is aligned with ``mask``; the first ``limit`` flagged stamps are the
    examples. Checks of one column record their metrics only when they fire, so a day's
    metrics stay a short list. Returns the count.
    """
    count = int(np.count_nonzero(mask))
    name = metric or (f"{check}.{field}" if field else check)
    if count or not field:
        result.metrics[f"{name}.count"] = float(count)
        result.metrics[f"{name}.rate"] = count / len(mask) if len(mask) else 0.0
    if count:
        result.findings.append(
            Finding(
                check,
                severity,
                count,
                examples(stamps[mask], limit),
                field=field,
                message=message,
            )
        )
    return count
