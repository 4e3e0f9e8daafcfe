"""Round trips to the venue by call, as histogram counts a heartbeat can carry (pure).

The supervisor's metrics endpoint builds ``quantfund_venue_round_trip_seconds{call}`` from
them (``Heartbeat.gauges``): the broker's own timings, not a per-request bus event.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
           10.0)
"""Upper bounds in seconds (the metrics endpoint's latency buckets)."""
PREFIX = "venue_rtt|"
"""Gauge keys: ``venue_rtt|<call>|<bucket index>`` (counts per bucket, the last one past the
largest bound), ``...|sum`` and ``...|count``."""


@dataclass
class _Calls:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    sum: float = 0.0
    count: int = 0


@dataclass
class RoundTrips:
    """Counts since the process started, by call (a bounded set: the broker's own calls)."""

    calls: dict[str, _Calls] = field(default_factory=dict)

    def observe(self, call: str, seconds: float) -> None:
        """One round trip of ``call`` (a negative duration, a clock step, counts as 0)."""
        c = self.calls.setdefault(call, _Calls())
        seconds = max(seconds, 0.0)
        c.counts[bisect_left(BUCKETS, seconds)] += 1
        c.sum += seconds
        c.count += 1

    def gauges(self) -> dict[str, float]:
        """Everything as flat gauge keys (see ``PREFIX``)."""
        out: dict[str, float] = {}
        for call, c in self.calls.items():
            out.update({f"{PREFIX}{call}|{i}": float(n) for i, n in enumerate(c.counts)})
            out[f"{PREFIX}{call}|sum"] = c.sum
            out[f"{PREFIX}{call}|count"] = float(c.count)
        return out


def parse(gauges: dict[str, float]) -> dict[str, tuple[list[int], float, int]]:
    """Gauge keys back to ``call -> (counts per bucket, sum, count)``; other keys ignored."""
    out: dict[str, tuple[list[int], float, int]] = {}
    for key, value in gauges.items():
        if not key.startswith(PREFIX):
            continue
        call, _, part = key[len(PREFIX):].rpartition("|")
        counts, total, n = out.get(call, ([0] * (len(BUCKETS) + 1), 0.0, 0))
        if part == "sum":
            total = value
        elif part == "count":
            n = int(value)
        elif part.isdigit() and int(part) <= len(BUCKETS):
            counts[int(part)] = int(value)
        out[call] = (counts, total, n)
    return out
