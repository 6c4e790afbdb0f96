"""Mean and 95 % confidence interval across seeds (Student's t; no I/O, no third-party maths)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95 % critical values of Student's t by degrees of freedom; beyond 30, the normal 1.96.
_T_95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True)
class Interval:
    """The mean of n values and its 95 % confidence interval (low = high = mean when n < 2)."""

    mean: float
    low: float
    high: float
    count: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def overlaps(self, other: Interval) -> bool:
        return self.low <= other.high and other.low <= self.high

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": float(self.count)}


def t_critical_95(degrees_of_freedom: int) -> float:
    if degrees_of_freedom < 1:
        raise ValueError("a confidence interval needs at least two values")
    if degrees_of_freedom <= len(_T_95):
        return _T_95[degrees_of_freedom - 1]
    return 1.96


def confidence_interval(values: Sequence[float]) -> Interval:
    """Mean ± t(0.975, n−1) · s / √n over finite values; NaN and infinities are ignored."""
    finite = [float(value) for value in values if math.isfinite(value)]
    if not finite:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = sum(finite) / len(finite)
    if len(finite) < 2:
        return Interval(mean, mean, mean, len(finite))
    variance = sum((value - mean) ** 2 for value in finite) / (len(finite) - 1)
    half = t_critical_95(len(finite) - 1) * math.sqrt(variance / len(finite))
    return Interval(mean, mean - half, mean + half, len(finite))
