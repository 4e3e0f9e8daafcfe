"""Coalescing of alert floods: a burst of one event type becomes one lead alert plus summaries.

Chosen behaviour (leading edge, then trailing summaries):

* The first event of a type, when no burst of that type is open, is alerted at once on its own
  (``lead``): the operator learns of the first rejected order without delay.
* It opens a window of ``window_s`` seconds. Further events of that type inside the window are
  only counted (exactly, with a per-group tally for "top reasons").
* When the window closes with a non-zero count, a summary is emitted ("499 more orders rejected in
  the last 60 s (500 since 12:00:01 UTC); top reasons: ...") and a follow-on window opens at once,
  back to back, so a sustained flood yields one message per window. A window that closes with
  nothing counted ends the burst; the next event is a lead again.

Nothing is lost: every event is either the lead (one alert, count 1) or counted in exactly one
window whose summary carries that count; a burst's ``total`` is the running sum. The state is a
plain value (:class:`Burst`) so the outbox can persist it in the same transaction as the alerts,
and a crash between windows neither loses nor double-counts events.

Pure: functions over values and a ``now`` passed in.
"""

from __future__ import annotations

import msgspec

from actors.alerter.severity import Severity
from actors.alerter.templates import render_burst

MAX_GROUPS = 32
"""Distinct grouping values tallied per window; the rest are counted under :data:`OTHER`."""

OTHER = "…other"
"""Group that collects values beyond :data:`MAX_GROUPS` (the count stays exact)."""

TOP = 3
"""Grouping values named in a summary."""


class Burst(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An open burst of one event type: the current window and what it has counted."""

    kind: str
    """Event type name."""
    severity: Severity
    """Severity of the summaries."""
    window_s: float
    """Window length in seconds."""
    started_at: float
    """When the burst's lead event arrived."""
    closes_at: float
    """End of the current window (exclusive)."""
    count: int
    """Events counted in the current window, not yet reported."""
    total: int
    """Events since the burst began, the lead and every summary included."""
    groups: dict[str, int]
    """Counts per grouping value in the current window (at most ``MAX_GROUPS`` + other)."""


class Summary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A closed window's report: how many events it absorbed."""

    kind: str
    """Event type name."""
    severity: Severity
    """Severity of the coalesced type."""
    count: int
    """Events in the window (the number this summary stands for)."""
    total: int
    """Events since the burst began."""
    window_s: float
    """Window length in seconds."""
    started_at: float
    """When the burst began."""
    groups: dict[str, int]
    """Counts per grouping value."""

    def text(self) -> str:
        """The message for the operator."""
        ranked = sorted(
            ((key, n) for key, n in self.groups.items() if key != OTHER),
            key=lambda item: (-item[1], item[0]),
        )
        top = ranked[:TOP]
        others = self.count - sum(n for _, n in top)
        return render_burst(
            self.severity,
            self.kind,
            count=self.count,
            window_s=self.window_s,
            total=self.total,
            since=self.started_at,
            top=top,
            others=others if top else 0,
        )


class Step(msgspec.Struct, frozen=True):
    """What absorbing one event did."""

    burst: Burst
    """The burst after the event (always open: the event is in it)."""
    lead: bool
    """True when the event opened the burst and must be alerted on its own, now."""
    summary: Summary | None
    """A window that closed before this event arrived, to be enqueued first."""


def roll(burst: Burst, now: float) -> tuple[Summary | None, Burst | None]:
    """Close the current window if it has ended.

    Args:
        burst: An open burst.
        now: Current time (seconds since the epoch).

    Returns:
        ``(summary, burst)``: the summary of the window that closed (None when it was still open
        or counted nothing) and the burst afterwards (None when the burst is over).
    """
    if now < burst.closes_at:
        return None, burst
    if burst.count == 0:
        return None, None
    summary = Summary(
        kind=burst.kind,
        severity=burst.severity,
        count=burst.count,
        total=burst.total,
        window_s=burst.window_s,
        started_at=burst.started_at,
        groups=dict(burst.groups),
    )
    follow_on = msgspec.structs.replace(
        burst, closes_at=burst.closes_at + burst.window_s, count=0, groups={}
    )
    # When we roll late (the alerter was down), the follow-on window may already have passed
    # with nothing in it: the burst is over.
    return summary, (None if now >= follow_on.closes_at else follow_on)


def absorb(
    burst: Burst | None,
    *,
    kind: str,
    severity: Severity,
    group: str | None,
    now: float,
    window_s: float,
) -> Step:
    """Count one event of a coalesced type.

    Args:
        burst: The open burst of this type, or None.
        kind: Event type name.
        severity: Its severity.
        group: Its grouping value (e.g. the rejection code), or None.
        now: Arrival time.
        window_s: Window length for a burst this event opens.

    Returns:
        The new burst, whether the event is a lead, and any summary that closed first.
    """
    summary: Summary | None = None
    if burst is not None:
        summary, burst = roll(burst, now)
    if burst is None:
        opened = Burst(
            kind=kind,
            severity=severity,
            window_s=window_s,
            started_at=now,
            closes_at=now + window_s,
            count=0,
            total=1,
            groups={},
        )
        return Step(burst=opened, lead=True, summary=summary)
    groups = dict(burst.groups)
    if group is not None:
        key = group if group in groups or len(groups) < MAX_GROUPS else OTHER
        groups[key] = groups.get(key, 0) + 1
    counted = msgspec.structs.replace(
        burst, count=burst.count + 1, total=burst.total + 1, groups=groups
    )
    return Step(burst=counted, lead=False, summary=summary)
