"""The arithmetic of the statistics: counters, rates with Wilson intervals, histogram
percentiles. Pure: no models, no database (docs/oversight.md defines each number)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COUNTER_FIELDS: tuple[str, ...] = (
    "submitted",
    "received",
    "received_by_transfer",
    "accepted",
    "accept_decided",
    "accept_on_time",
    "resolved",
    "resolve_decided",
    "resolve_on_time",
    "transferred_out",
    "returned",
    "rejected",
    "merged",
    "extensions",
    "rated",
    "satisfied",
    "acceptable",
    "not_satisfied",
    "closed_unrated",
    "reopened",
)
HIST_FIELDS: tuple[str, ...] = (
    "accept_work",
    "accept_calendar",
    "resolve_work",
    "resolve_calendar",
)
COUNTER_INDEX = {name: index for index, name in enumerate(COUNTER_FIELDS)}

# Histogram buckets grow by 2%: a percentile read from them is the bucket's geometric
# middle, within ±1% of the exact value; a month of one agency fits in a few hundred keys.
BUCKET_RATIO = 1.02
_LOG_RATIO = math.log(BUCKET_RATIO)
Z_95 = 1.959963984540054


def bucket_of(seconds: float) -> int:
    """Bucket 0: under one second; bucket b ≥ 1: [1.02^(b-1), 1.02^b) seconds."""
    if seconds < 1:
        return 0
    return math.floor(math.log(seconds) / _LOG_RATIO) + 1


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for: 0, or its geometric middle."""
    if bucket <= 0:
        return 0.0
    return float(BUCKET_RATIO ** (bucket - 0.5))


def merge_hist(into: dict[int, int], other: Mapping[Any, int]) -> None:
    """Add ``other`` (keys may be strings, as JSON gives them back) into ``into``."""
    for key, count in other.items():
        bucket = int(key)
        into[bucket] = into.get(bucket, 0) + int(count)


def hist_percentile(hist: Mapping[int, int], p: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least p of the samples at or
    below it), read from a histogram; None without samples."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    raise AssertionError("unreachable")  # pragma: no cover


def exact_percentile(values: Iterable[float], p: float) -> float | None:
    """The same nearest-rank percentile on exact values (tests and the naive benchmark)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion (95% by default); (0, 1) without data."""
    if n <= 0:
        return (0.0, 1.0)
    phat = successes / n
    denominator = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denominator
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Rate:
    """``num`` out of ``den``; no value when nothing was decided."""

    num: int
    den: int

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None

    @property
    def percent(self) -> float | None:
        value = self.value
        return None if value is None else 100 * value

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.num, self.den)

    @property
    def low(self) -> float:
        return self.interval[0]

    @property
    def high(self) -> float:
        return self.interval[1]


@dataclass
class Counts:
    """Counters and histograms summed over some rows of the roll-ups."""

    values: list[int] = field(default_factory=lambda: [0] * len(COUNTER_FIELDS))
    hists: dict[str, dict[int, int]] = field(
        default_factory=lambda: {name: {} for name in HIST_FIELDS}
    )

    def __getattr__(self, name: str) -> int:
        # Counters read as attributes (``counts.received``), in templates too.
        index = COUNTER_INDEX.get(name)
        if index is None:
            raise AttributeError(name)
        return self.values[index]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Counts:
        counts = cls()
        counts.add_row(row)
        return counts

    def add_row(self, row: Mapping[str, Any]) -> None:
        for index, name in enumerate(COUNTER_FIELDS):
            self.values[index] += int(row.get(name) or 0)
        for name in HIST_FIELDS:
            hist = row.get(name)
            if hist:
                merge_hist(self.hists[name], hist)

    def add(self, other: Counts) -> None:
        for index, value in enumerate(other.values):
            self.values[index] += value
        for name in HIST_FIELDS:
            merge_hist(self.hists[name], other.hists[name])

    def get(self, name: str) -> int:
        return self.values[COUNTER_INDEX[name]]

    # --- Rates (docs/oversight.md, Definitions) -------------------------------------------

    @property
    def accept_on_time_rate(self) -> Rate:
        return Rate(self.get("accept_on_time"), self.get("accept_decided"))

    @property
    def resolve_on_time_rate(self) -> Rate:
        return Rate(self.get("resolve_on_time"), self.get("resolve_decided"))

    @property
    def rated_share(self) -> Rate:
        return Rate(self.get("rated"), self.get("rated") + self.get("closed_unrated"))

    @property
    def satisfaction(self) -> Rate:
        return Rate(self.get("satisfied") + self.get("acceptable"), self.get("rated"))

    @property
    def reopen_rate(self) -> Rate:
        return Rate(self.get("reopened"), self.get("resolved"))

    @property
    def accept_late(self) -> int:
        return self.get("accept_decided") - self.get("accept_on_time")

    @property
    def resolve_late(self) -> int:
        return self.get("resolve_decided") - self.get("resolve_on_time")

    @property
    def late(self) -> int:
        return self.accept_late + self.resolve_late

    # --- Durations (seconds) ------------------------------------------------------------------

    def percentile(self, hist: str, p: float) -> float | None:
        return hist_percentile(self.hists[hist], p)

    @property
    def durations(self) -> dict[str, float | None]:
        """Median and p90 of the four duration histograms, keyed ``<hist>_p50``/``_p90``."""
        result: dict[str, float | None] = {}
        for name in HIST_FIELDS:
            result[f"{name}_p50"] = self.percentile(name, 0.5)
            result[f"{name}_p90"] = self.percentile(name, 0.9)
        return result


def format_duration(seconds: float | None, *, working: bool) -> str:
    """ "2d 3h" (a working day is 8 hours, a calendar day 24), "3h 20m", "45m"; "—" for none."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    day_minutes = (8 if working else 24) * 60
    days, rest = divmod(minutes, day_minutes)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"
