"""The seeded simulated feed: the price at iteration n depends only on (seed, n, price at n-1)."""

from __future__ import annotations

import hashlib
import math
import random

from actors.orchestrator.config import FeedConfig


def _rng(seed: int, instrument: str, iteration: int) -> random.Random:
    # A per-step generator derived from (seed, instrument, iteration): a restarted process
    # continues the same path from the persisted last price, with no generator state to save.
    digest = hashlib.blake2b(f"{seed}/{instrument}/{iteration}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))  # noqa: S311 - a simulation, not crypto


class SimulatedFeed:
    """Geometric Brownian motion per instrument."""

    def __init__(self, config: FeedConfig, last_prices: dict[str, float] | None = None) -> None:
        """Start from ``last_prices`` (restored) or the configured initial price."""
        self.config = config
        self.prices = dict.fromkeys(config.instruments, config.initial_price)
        if last_prices:
            self.prices.update({k: v for k, v in last_prices.items() if k in self.prices})

    def step(self, iteration: int) -> dict[str, float]:
        """Prices at ``iteration`` (call with consecutive iterations)."""
        c = self.config
        for instrument, price in self.prices.items():
            z = _rng(c.seed, instrument, iteration).gauss(0.0, 1.0)
            self.prices[instrument] = price * math.exp(c.drift + c.volatility * z)
        return dict(self.prices)
