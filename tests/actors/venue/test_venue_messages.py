"""Venue events are on the shared wire: each round-trips through the codec unchanged."""

import pytest

from actors._runtime.messages import Event, Message
from actors.venue.messages import (
    FeedFresh,
    FeedReconnected,
    FeedStale,
    VenueInputRejected,
    VenueRateLimited,
    VenueReconciled,
)
from actors.wire import codec, topic

EVENTS: list[Message] = [
    FeedStale(symbol="BTC/USDT", age_s=6.5, threshold_s=5.0, exchange_ts_age_s=7.25),
    FeedFresh(symbol="ETH/USDT", stale_for_s=12.0),
    FeedReconnected(attempt=3, gap_s=4.5, missed_updates_unknown=True),
    VenueReconciled(
        open_at_venue=2, open_here=1, adopted=0, cancelled=1, fills_recovered=2,
        mismatches=["qf-1: ours open, venue closed"], ok=False,
    ),
    VenueInputRejected(what="order.price", detail="nan is not finite", count=4),
    VenueRateLimited(retry_after_s=1.5, endpoint="create_order"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_each_venue_event_round_trips_through_the_codec(event: Message) -> None:
    """Encoded and decoded by the one codec, a venue event comes back equal, as an Event."""
    c = codec()
    envelope = c.decode(c.encode("execution", event))
    back = envelope.payload
    assert back == event
    assert envelope.sender == "execution"
    assert isinstance(back, Event)
    assert topic(event) == type(event).__name__.encode() + b"."
