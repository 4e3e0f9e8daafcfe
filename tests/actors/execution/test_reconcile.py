"""Positions against the venue's: equal books pass, any difference is named."""

from actors.execution.reconcile import Fill, compare_fills, position_differences


def test_equal_positions_and_float_noise_pass() -> None:
    """The same holdings (up to summation noise, and zeros left out) are no difference."""
    assert position_differences({"A": 0.3, "B": 0.0}, {"A": 0.1 + 0.2}) == []


def test_each_difference_is_named_with_both_sides() -> None:
    """A lost fill, a position only the venue has, one only here: each is listed, sorted."""
    found = position_differences({"A": 1.0, "C": -2.0}, {"A": 2.0, "B": 5.0})
    assert found == ["A: here 1, venue 2", "B: here 0, venue 5", "C: here -2, venue 0"]


# --- compare_fills: the venue's orders against execution's records -------------------------

def test_the_same_fills_on_both_sides_find_nothing() -> None:
    """Final and equal, open and equal: nothing to recover, cancel or report."""
    venue = {"QF-a": Fill(1.0, True), "QF-b": Fill(0.5, False)}
    check = compare_fills(venue, {"QF-a": Fill(1.0, True), "QF-b": Fill(0.5, False)})
    assert (check.recover, check.cancel, check.mismatches) == ([], [], [])


def test_an_open_order_behind_the_venue_is_recovered_not_a_mismatch() -> None:
    """A report not yet polled (more filled there, or closed there) is asked for and booked."""
    venue = {"QF-a": Fill(0.7, False), "QF-b": Fill(1.0, True), "QF-c": Fill(0.0, True)}
    here = {"QF-a": Fill(0.2, False), "QF-b": Fill(1.0, False), "QF-c": Fill(0.0, False)}
    check = compare_fills(venue, here)
    assert check.recover == ["QF-a", "QF-b", "QF-c"]
    assert check.mismatches == []


def test_a_settled_order_that_differs_is_a_mismatch() -> None:
    """Final here with another fill there: nothing here explains it."""
    check = compare_fills({"QF-a": Fill(1.0, True)}, {"QF-a": Fill(0.4, True)})
    assert check.mismatches == ["QF-a: filled 0.4 here, 1 at the venue"]
    assert check.recover == []


def test_an_order_final_here_but_resting_there_is_cancelled_and_reported() -> None:
    """Written off here (e.g. "never taken") but alive at the venue: cancel it and halt."""
    check = compare_fills({"QF-a": Fill(0.0, False)}, {"QF-a": Fill(0.0, True)})
    assert check.cancel == ["QF-a"]
    assert check.mismatches == ["QF-a: final here, still open at the venue"]


def test_an_order_with_no_record_here_is_cancelled_and_a_fill_on_it_reported() -> None:
    """No record: a resting one is cancelled; one with a fill is a position nobody booked."""
    venue = {"QF-x": Fill(0.0, False), "QF-y": Fill(0.3, True)}
    check = compare_fills(venue, {"QF-x": None, "QF-y": None})
    assert check.cancel == ["QF-x"]
    assert check.mismatches == ["QF-y: filled 0.3 at the venue, no record here"]


def test_float_noise_in_a_fill_is_no_mismatch() -> None:
    """0.1 + 0.2 booked in parts is the venue's 0.3."""
    check = compare_fills({"QF-a": Fill(0.3, True)}, {"QF-a": Fill(0.1 + 0.2, True)})
    assert check.mismatches == []
