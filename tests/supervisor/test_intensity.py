"""Restart intensity and backoff (pure)."""

from __future__ import annotations

import pytest

from supervisor.intensity import RestartIntensity, backoff_delay


def test_allows_exactly_intensity_restarts_within_period() -> None:
    """The (intensity+1)-th restart inside the window is refused."""
    ri = RestartIntensity(3, 10.0)
    assert [ri.allow(t) for t in (0.0, 1.0, 2.0)] == [True, True, True]
    assert ri.allow(3.0) is False


def test_restarts_older_than_period_stop_counting() -> None:
    """The window slides: a restart `period` seconds old no longer counts."""
    ri = RestartIntensity(2, 5.0)
    assert ri.allow(0.0)
    assert ri.allow(1.0)
    assert ri.allow(5.0)  # the one at 0.0 left the window
    assert not ri.allow(5.5)


def test_zero_intensity_refuses_the_first_restart() -> None:
    """OTP: intensity 0 means never restart."""
    assert RestartIntensity(0, 1.0).allow(0.0) is False


def test_invalid_limits_are_refused() -> None:
    """Negative intensity or a non-positive period is a clear error."""
    with pytest.raises(ValueError, match="intensity"):
        RestartIntensity(-1, 1.0)
    with pytest.raises(ValueError, match="period"):
        RestartIntensity(1, 0.0)


def test_backoff_first_restart_immediate_then_doubles_and_is_bounded() -> None:
    """0, initial, 2*initial, ... never above the maximum."""
    delays = [backoff_delay(n, 0.05, 0.3) for n in range(6)]
    assert delays == [0.0, 0.05, 0.1, 0.2, 0.3, 0.3]


def test_in_window_counts_restarts_of_the_last_period_without_recording_one() -> None:
    """What the metrics show: restarts within ``period`` before now; asking records nothing."""
    ri = RestartIntensity(5, 10.0)
    for t in (0.0, 4.0, 8.0):
        ri.allow(t)
    assert ri.in_window(9.0) == 3
    assert ri.in_window(12.0) == 2  # the one at 0.0 left the window
    assert ri.in_window(30.0) == 0
    assert ri.in_window(9.0) == 3  # nothing was recorded by asking
