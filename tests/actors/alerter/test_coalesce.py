"""Tests of flood coalescing (actors/alerter/coalesce.py): lead at once, exact summaries."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.alerter.coalesce import MAX_GROUPS, OTHER, Burst, Summary, absorb, roll
from actors.alerter.severity import Severity

W = 60.0


def _absorb(burst: Burst | None, now: float, group: str | None = "max_notional") -> object:
    return absorb(
        burst, kind="OrderRejected", severity=Severity.YELLOW, group=group, now=now, window_s=W
    )


def test_first_event_leads_and_the_rest_wait_for_the_window() -> None:
    """The first rejection is alerted at once; the next ones in the window are only counted."""
    step = absorb(
        None, kind="OrderRejected", severity=Severity.YELLOW, group="a", now=0, window_s=W
    )
    assert step.lead
    assert step.summary is None
    burst = step.burst
    for t in (1.0, 2.0, 59.9):
        step = absorb(
            burst, kind="OrderRejected", severity=Severity.YELLOW, group="a", now=t, window_s=W
        )
        assert not step.lead
        assert step.summary is None
        burst = step.burst
    assert (burst.count, burst.total, burst.groups) == (3, 4, {"a": 3})


def test_window_close_emits_a_summary_and_opens_a_follow_on_window() -> None:
    """A window that counted events reports them when it ends; the flood continues back to back."""
    burst = Burst(
        kind="OrderRejected",
        severity=Severity.YELLOW,
        window_s=W,
        started_at=0.0,
        closes_at=60.0,
        count=5,
        total=6,
        groups={"a": 5},
    )
    assert roll(burst, 59.0) == (None, burst)
    summary, follow_on = roll(burst, 60.0)
    assert summary is not None
    assert (summary.count, summary.total, summary.groups) == (5, 6, {"a": 5})
    assert follow_on is not None
    assert (follow_on.closes_at, follow_on.count, follow_on.total) == (120.0, 0, 6)
    # A quiet follow-on window ends the burst: the next event leads again.
    assert roll(follow_on, 120.0) == (None, None)


def test_late_roll_ends_a_burst_whose_follow_on_window_passed() -> None:
    """After a long gap (alerter down) the summary still comes out, and the burst is over."""
    burst = Burst(
        kind="OrderRejected",
        severity=Severity.YELLOW,
        window_s=W,
        started_at=0.0,
        closes_at=60.0,
        count=2,
        total=3,
        groups={},
    )
    summary, after = roll(burst, 1000.0)
    assert summary is not None
    assert summary.count == 2
    assert after is None


def test_groups_are_bounded_but_the_count_stays_exact() -> None:
    """Beyond MAX_GROUPS distinct reasons, the rest go to OTHER; nothing is dropped."""
    step = absorb(None, kind="K", severity=Severity.YELLOW, group="g", now=0, window_s=W)
    burst = step.burst
    n = MAX_GROUPS + 10
    for i in range(n):
        burst = absorb(
            burst, kind="K", severity=Severity.YELLOW, group=f"g{i}", now=1, window_s=W
        ).burst
    assert burst.count == n
    assert sum(burst.groups.values()) == n
    assert burst.groups[OTHER] == 10


def test_summary_text_counts_others_beyond_the_top_three() -> None:
    """The summary names the three commonest reasons and lumps the rest, summing to the count."""
    summary = Summary(
        kind="OrderRejected",
        severity=Severity.YELLOW,
        count=10,
        total=11,
        window_s=W,
        started_at=0.0,
        groups={"a": 4, "b": 3, "c": 2, "d": 1},
    )
    assert summary.text().endswith("top reasons: a x4, b x3, c x2, other x1")


@settings(max_examples=100, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=150.0), min_size=1, max_size=200),
    groups=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=200, max_size=200),
    rolls=st.lists(st.booleans(), min_size=200, max_size=200),
)
def test_every_event_is_counted_exactly_once(
    gaps: list[float], groups: list[str | None], rolls: list[bool]
) -> None:
    """Whatever the timing, leads + summary counts == events offered, and totals agree."""
    burst: Burst | None = None
    leads = 0
    summaries: list[Summary] = []
    now = 0.0
    for i, gap in enumerate(gaps):
        now += gap
        if rolls[i] and burst is not None:
            # The sender's timer may fire between events, or not.
            summary, burst = roll(burst, now)
            if summary is not None:
                summaries.append(summary)
        step = absorb(
            burst, kind="K", severity=Severity.YELLOW, group=groups[i], now=now, window_s=W
        )
        burst = step.burst
        leads += step.lead
        if step.summary is not None:
            summaries.append(step.summary)
    # Let time run out so every open window reports.
    while burst is not None:
        summary, burst = roll(burst, burst.closes_at)
        if summary is not None:
            summaries.append(summary)
    assert leads + sum(s.count for s in summaries) == len(gaps)
    assert all(s.count > 0 for s in summaries)
    # Each summary's total is the running count of its burst so far.
    for s in summaries:
        assert s.total >= s.count + 1
