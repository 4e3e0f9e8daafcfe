"""Picks the broker named in config (``shadow`` or ``paper``); the adapters live beside it.

The interface is ``actors.execution.broker``; this factory is the only module that imports the
adapters, so the adapters import the interface and nothing imports back up.
"""

from __future__ import annotations

from pathlib import Path

from actors.execution.broker import Broker
from actors.execution.paper import PaperVenue
from actors.execution.shadow import ShadowBroker


def make_broker(name: str, state_dir: Path, *, latency_s: float, slippage_bps: float) -> Broker:
    """The broker named in config."""
    if name == "shadow":
        return ShadowBroker()
    if name == "paper":
        return PaperVenue(
            state_dir / "paper-venue.sqlite", latency_s=latency_s, slippage_bps=slippage_bps
        )
    raise ValueError(f"unknown broker {name!r} (known: shadow, paper)")
