"""Medians and percentiles without numpy."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """Return the q-th percentile (0-100, nearest rank), or None for no values."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Iterable[float]) -> float | None:
    """Return the median (nearest rank), or None for no values."""
    return percentile(values, 50)
