"""Picks the broker named in config (``shadow``, ``paper`` or ``venue``); the adapters live
beside it (the venue's in ``actors/venue``).

The interface is ``actors.execution.broker``; this factory is the only module that imports the
adapters, so the adapters import the interface and nothing imports back up.
"""

from __future__ import annotations

from pathlib import Path

from actors.execution.broker import Broker
from actors.execution.paper import PaperVenue
from actors.execution.shadow import ShadowBroker
from actors.venue.config import VenueConfig


def make_broker(name: str, state_dir: Path, *, latency_s: float, slippage_bps: float,
                venue: VenueConfig | None = None) -> Broker:
    """The broker named in config (``venue``: ``[venue]``, credentials from the environment
    or systemd credentials).

    Raises:
        MissingCredential: ``venue`` without its API key or secret (names which, and where).
    """
    if name == "shadow":
        return ShadowBroker()
    if name == "paper":
        return PaperVenue(
            state_dir / "paper-venue.sqlite", latency_s=latency_s, slippage_bps=slippage_bps
        )
    if name == "venue":
        return _venue(venue or VenueConfig())
    raise ValueError(f"unknown broker {name!r} (known: shadow, paper, venue)")


def _venue(cfg: VenueConfig) -> Broker:
    import os

    from actors.venue.broker import VenueBroker
    from actors.venue.credentials import load_credentials
    from actors.venue.exchange import make_exchange

    where = os.environ.get("CREDENTIALS_DIRECTORY")
    creds = load_credentials(os.environ, Path(where) if where else None)
    return VenueBroker(
        lambda: make_exchange(cfg, key=creds.key, secret=creds.secret),
        symbols=list(cfg.symbols), request_timeout_s=cfg.request_timeout_s,
        recv_window_s=cfg.recv_window_ms / 1000, weight_limit=cfg.request_weight_per_minute,
    )
