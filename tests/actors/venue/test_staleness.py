"""Feed staleness per symbol: by our clock and by the exchange's, turning stale once and fresh
once, with the gap it was stale for."""

import pytest

from actors.venue.staleness import Staleness


def _tracker() -> Staleness:
    return Staleness(["BTC/USDT", "ETH/USDT"], threshold_s=2.0, started=100.0)


def test_a_symbol_never_heard_from_goes_stale_after_the_threshold() -> None:
    """No update since the start: stale once past the threshold, not before, not twice."""
    t = _tracker()
    assert t.check(now=101.9, wall=0.0) == []
    changes = t.check(now=102.5, wall=0.0)
    assert sorted(c.symbol for c in changes) == ["BTC/USDT", "ETH/USDT"]
    assert all(c.stale for c in changes)
    assert t.check(now=103.0, wall=0.0) == []
    assert t.is_stale("BTC/USDT")


def test_fresh_again_reports_how_long_it_was_stale() -> None:
    """Updates stop, the symbol goes stale, one arrives: fresh, with the stale gap."""
    t = _tracker()
    t.update("BTC/USDT", rx=100.5, exchange_ts=1000.5)
    t.update("ETH/USDT", rx=100.5, exchange_ts=1000.5)
    assert t.check(now=101.0, wall=1001.0) == []
    [stale, _] = t.check(now=103.0, wall=1003.0)
    assert stale.stale
    t.update("BTC/USDT", rx=106.0, exchange_ts=1006.0)
    [fresh] = [c for c in t.check(now=106.1, wall=1006.1) if c.symbol == "BTC/USDT"]
    assert not fresh.stale
    assert fresh.stale_for_s == pytest.approx(106.1 - 102.5)
    assert not t.is_stale("BTC/USDT")
    assert t.is_stale("ETH/USDT")


def test_updates_stamped_long_ago_by_the_exchange_are_stale() -> None:
    """A venue that streams old data (its timestamps far behind our wall clock) is stale,
    however fast the messages arrive."""
    t = _tracker()
    t.update("BTC/USDT", rx=100.1, exchange_ts=990.0)
    [change] = [c for c in t.check(now=100.2, wall=1000.0) if c.symbol == "BTC/USDT"]
    assert change.stale
    assert change.exchange_age_s == pytest.approx(10.0)


def test_a_threshold_that_is_not_a_positive_number_is_refused() -> None:
    """NaN or zero would make every symbol always or never stale."""
    with pytest.raises(ValueError, match="threshold_s"):
        Staleness(["X/Y"], threshold_s=float("nan"), started=0.0)
