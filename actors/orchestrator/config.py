"""Config of the orchestrator: the feed, the strategy plugin and the loop's pace."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Positive = Annotated[float, msgspec.Meta(gt=0)]


class FeedConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The seeded simulated price feed (geometric Brownian motion)."""

    seed: int = 42
    """Seed: the same seed gives the same prices at the same iterations."""
    instruments: list[str] = msgspec.field(default_factory=lambda: ["BTC-USD"])
    """Instruments the feed produces a price for at every iteration."""
    initial_price: Positive = 100.0
    """Price of every instrument at iteration 0."""
    drift: float = 0.0
    """Drift per iteration (log-return mean)."""
    volatility: Annotated[float, msgspec.Meta(ge=0)] = 0.01
    """Standard deviation of the log-return per iteration."""


class OrchestratorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Orchestrator settings."""

    interval_s: Positive = 0.1
    """Seconds between loop iterations."""
    feed: FeedConfig = msgspec.field(default_factory=FeedConfig)
    """The market-data feed."""
    strategy: str = "actors.orchestrator.examples:Crossover"
    """Strategy plugin as ``module:Class``."""
    strategy_params: dict[str, Any] = msgspec.field(default_factory=dict)
    """Keyword arguments for the strategy's constructor."""
