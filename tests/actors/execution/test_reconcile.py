"""Positions against the venue's: equal books pass, any difference is named."""

from actors.execution.reconcile import position_differences


def test_equal_positions_and_float_noise_pass() -> None:
    """The same holdings (up to summation noise, and zeros left out) are no difference."""
    assert position_differences({"A": 0.3, "B": 0.0}, {"A": 0.1 + 0.2}) == []


def test_each_difference_is_named_with_both_sides() -> None:
    """A lost fill, a position only the venue has, one only here: each is listed, sorted."""
    found = position_differences({"A": 1.0, "C": -2.0}, {"A": 2.0, "B": 5.0})
    assert found == ["A: here 1, venue 2", "B: here 0, venue 5", "C: here -2, venue 0"]
