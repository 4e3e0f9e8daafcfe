"""Events of the venue adapter: feed staleness and gaps, reconciliation, refused venue input."""

from __future__ import annotations

from actors._runtime.messages import Event


class FeedStale(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A symbol had no market update for longer than its threshold: no order on it until fresh."""

    symbol: str
    """Unified symbol (``BTC/USDT``)."""
    age_s: float
    """Seconds since we last received an update for it (our clock)."""
    threshold_s: float
    """The ``stale_after_s`` it exceeded."""
    exchange_ts_age_s: float
    """Seconds since the venue's own timestamp of the last update (our clock minus theirs)."""


class FeedFresh(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A stale symbol got an update again."""

    symbol: str
    """Unified symbol."""
    stale_for_s: float
    """How long it was stale."""


class FeedReconnected(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The market stream came back after a drop; a gap is reported, never papered over."""

    attempt: int
    """Reconnect attempts it took (1: the first succeeded)."""
    gap_s: float
    """Seconds without a stream."""
    missed_updates_unknown: bool
    """True: updates may have been missed in the gap (state is resynced, not assumed)."""
    symbol: str = ""
    """The stream that came back (one per symbol)."""
    error: str = ""
    """What dropped it."""


class VenueReconciled(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """Our book was compared with the venue's (open orders, fills) and any difference handled."""

    open_at_venue: int
    """Orders open at the venue."""
    open_here: int
    """Orders open in execution's book."""
    adopted: int
    """Venue orders we did not send, adopted into the book."""
    cancelled: int
    """Venue orders we did not send, cancelled."""
    fills_recovered: int
    """Fills found at the venue that we had not applied (by trade id)."""
    mismatches: list[str]
    """Each difference found, said in words (client order id, ours vs theirs)."""
    ok: bool
    """True when nothing was left unexplained."""


class VenueInputRejected(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """Something the venue returned was malformed and was dropped (counted)."""

    what: str
    """What it was (``order``, ``trade``, ``ticker``, ``balance``) and the field."""
    detail: str
    """The value and why it was refused."""
    count: int
    """Rejections of this ``what`` since the process started, this one included."""


class VenueRateLimited(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The venue refused a request for its rate limit; we back off."""

    retry_after_s: float
    """Seconds we wait before calling that endpoint again."""
    endpoint: str
    """Which call (``create_order``, ``fetch_open_orders`` ...)."""
