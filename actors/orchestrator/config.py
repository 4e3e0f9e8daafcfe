"""Config of the orchestrator: the feed, the strategy plugin and the loop's pace."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from actors.venue.config import VenueConfig

Positive = Annotated[float, msgspec.Meta(gt=0)]


class FeedConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The market-data feed: the seeded simulation, or a replay of a CSV file of OHLCV bars."""

    kind: Literal["sim", "csv", "venue"] = "sim"
    """``sim``: geometric Brownian motion with regime changes; ``csv``: replay ``path``;
    ``venue``: the live market of ``[venue]`` (its ``symbols``), through ccxt."""
    path: str = ""
    """CSV file to replay (``kind = "csv"``), relative to the working directory. Columns:
    ``timestamp`` (epoch seconds or ISO 8601; naive means UTC), ``open``, ``high``, ``low``,
    ``close``, ``volume``, and optionally ``instrument`` (else ``instruments[0]``). Rows with the
    same timestamp form one bar; timestamps must not go backwards."""
    seed: int = 42
    """Seed: the same seed gives the same prices at the same iterations."""
    instruments: list[str] = msgspec.field(default_factory=lambda: ["BTC-USD"])
    """Instruments the simulated feed produces a price for at every iteration."""
    initial_price: Positive = 100.0
    """Price of every instrument at iteration 0."""
    drift: float = 0.0
    """Drift per iteration (log-return mean) in the calm regime."""
    volatility: Annotated[float, msgspec.Meta(ge=0)] = 0.01
    """Standard deviation of the log-return per iteration in the calm regime."""
    regime_every: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Iterations per regime block; at each block the seed picks calm or stressed. 0: calm only."""
    stressed_drift: float = -0.002
    """Drift per iteration in the stressed regime."""
    stressed_volatility_x: Annotated[float, msgspec.Meta(ge=0)] = 3.0
    """Volatility multiplier in the stressed regime."""
    wake_on_update: bool = False
    """``kind = "venue"`` only: an update from the venue runs the loop's next iteration at once
    (a quote is traded within milliseconds, not at the next ``interval_s``). Iterations then
    follow the market: more of them, each with the symbols that moved; ``interval_s`` still
    paces the loop when the market is quiet."""

    def __post_init__(self) -> None:
        """Refuse a key that would do nothing (ValueError; msgspec wraps it)."""
        if self.wake_on_update and self.kind != "venue":
            raise ValueError(f"wake_on_update needs kind = \"venue\" (kind is {self.kind!r}): "
                             "only a live feed has updates to wake the loop")


class OrchestratorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Orchestrator settings."""

    interval_s: Positive = 0.1
    """Seconds between loop iterations (wall clock). A CSV replay advances one bar per
    iteration, so it runs faster than real time whenever the bars are further apart than this."""
    feed: FeedConfig = msgspec.field(default_factory=FeedConfig)
    """The market-data feed."""
    strategy: str = "actors.orchestrator.examples:Crossover"
    """Strategy plugin as ``module:Class``."""
    strategy_params: dict[str, Any] = msgspec.field(default_factory=dict)
    """Keyword arguments for the strategy's constructor."""
    venue: VenueConfig | None = None
    """The ``[venue]`` section, copied here by the supervisor for ``feed.kind = "venue"``."""
