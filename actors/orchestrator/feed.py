"""Market-data feeds and their clocks: the seeded simulation and a CSV replay of OHLCV bars.

A feed answers ``step(iteration, now)`` with the bar of that iteration: its feed time and the
prices. Each feed *is* the clock of the bars it makes: the simulation stamps a bar with the wall
clock ``now`` passed in (so tests inject any clock they like), the replay with the bar's own
timestamp from the file. Nothing waits on feed time: the orchestrator's loop asks for one bar per
``interval_s`` of wall time, so a replay of minute bars at ``interval_s = 0.01`` runs 6,000 times
faster than real time; :func:`replay` runs a strategy over a feed with no loop at all (as fast as
the CPU allows) for research and tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from actors.orchestrator.config import FeedConfig

Clock = Callable[[], float]
"""Seconds since the epoch; ``time.time`` in production, anything monotone in tests."""

REQUIRED_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


class FeedError(ValueError):
    """A feed cannot be read; the message names the file and line."""


class Feed(Protocol):
    """What the orchestrator asks of a feed."""

    def step(self, iteration: int, now: float) -> tuple[float, dict[str, float]] | None:
        """The bar of ``iteration`` (1, 2, ... consecutively): feed time and prices; None once
        the feed has ended."""

    def last_prices(self) -> dict[str, float]:
        """Prices of the last bar (to persist)."""


def _rng(seed: int, key: str, n: int) -> random.Random:
    # A per-step generator derived from (seed, key, n): a restarted process continues the same
    # path from the persisted last price, with no generator state to save.
    digest = hashlib.blake2b(f"{seed}/{key}/{n}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))  # noqa: S311 - a simulation, not crypto


class SimulatedFeed:
    """Geometric Brownian motion per instrument, with seeded calm/stressed regime blocks."""

    def __init__(self, config: FeedConfig, last_prices: dict[str, float] | None = None) -> None:
        """Start from ``last_prices`` (restored) or the configured initial price."""
        self.config = config
        self.prices = dict.fromkeys(config.instruments, config.initial_price)
        if last_prices:
            self.prices.update({k: v for k, v in last_prices.items() if k in self.prices})

    def stressed(self, iteration: int) -> bool:
        """Whether ``iteration`` falls in a stressed regime block (30 % of blocks)."""
        every = self.config.regime_every
        if not every:
            return False
        return _rng(self.config.seed, "regime", iteration // every).random() < 0.3

    def step(self, iteration: int, now: float) -> tuple[float, dict[str, float]]:
        """Prices at ``iteration`` (call with consecutive iterations), stamped ``now``."""
        c = self.config
        drift, vol = c.drift, c.volatility
        if self.stressed(iteration):
            drift, vol = c.stressed_drift, c.volatility * c.stressed_volatility_x
        for instrument, price in self.prices.items():
            z = _rng(c.seed, instrument, iteration).gauss(0.0, 1.0)
            self.prices[instrument] = price * math.exp(drift + vol * z)
        return now, dict(self.prices)

    def last_prices(self) -> dict[str, float]:
        """Prices of the last step."""
        return dict(self.prices)


@dataclass(frozen=True)
class CsvBar:
    """One bar of the file: its time and the close of each instrument in it."""

    ts: float
    closes: dict[str, float]


def _timestamp(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        try:
            value = parsed.timestamp()
        except OverflowError as exc:  # year 1 with a positive offset falls before year 1 in UTC
            raise ValueError(str(exc)) from exc
    if not math.isfinite(value):  # NaN would compare as neither earlier nor later than a bar
        raise ValueError(f"{text!r} is not finite")
    return value


def load_csv(path: Path, default_instrument: str) -> list[CsvBar]:
    """Read and check a whole OHLCV file; rows with the same timestamp form one bar.

    Raises:
        FeedError: ``<path>:<line>: <what is wrong>`` for a missing file or column, an empty
            file, bytes that are not UTF-8 or not CSV, a value that is not a number, NaN/Inf
            (timestamps included), a price <= 0, a negative volume, ``high < low``, a row with
            no instrument when none is configured, or a timestamp earlier than the row before.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"{path}: cannot open the CSV feed: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")  # -sig: a spreadsheet's byte-order mark is no column
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FeedError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from exc
    bars: list[CsvBar] = []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise FeedError(f"{path}:1: missing column(s) {', '.join(missing)}; "
                            f"need {', '.join(REQUIRED_COLUMNS)} (instrument optional)")
        reader.fieldnames = header
        for row in reader:
            line = reader.line_num
            bar_ts, instrument, close = _row(path, line, row, default_instrument)
            if bars and bar_ts < bars[-1].ts:
                raise FeedError(f"{path}:{line}: timestamp {row['timestamp']!r} is earlier "
                                f"than the row before")
            if bars and bar_ts == bars[-1].ts:
                bars[-1].closes[instrument] = close
            else:
                bars.append(CsvBar(bar_ts, {instrument: close}))
    except csv.Error as exc:  # e.g. a field over csv's size limit
        # DictReader's own line_num is only updated after a row parsed; its reader's is current.
        raise FeedError(f"{path}:{reader.reader.line_num}: not readable as CSV: {exc}") from exc
    if not bars:
        raise FeedError(f"{path}:1: no bars after the header")
    return bars


def _row(
    path: Path, line: int, row: dict[str, str | None], default_instrument: str
) -> tuple[float, str, float]:
    raw_ts = (row.get("timestamp") or "").strip()
    try:
        bar_ts = _timestamp(raw_ts)
    except ValueError:
        raise FeedError(f"{path}:{line}: timestamp {raw_ts!r} is neither finite epoch seconds "
                        "nor ISO 8601") from None
    values: dict[str, float] = {}
    for column in ("open", "high", "low", "close", "volume"):
        text = (row.get(column) or "").strip()
        try:
            value = float(text)
        except ValueError:
            raise FeedError(f"{path}:{line}: {column} {text!r} is not a number") from None
        if not math.isfinite(value):
            raise FeedError(f"{path}:{line}: {column} is {text!r}, not a finite number")
        if column == "volume" and value < 0:
            raise FeedError(f"{path}:{line}: volume {text!r} is negative")
        if column != "volume" and value <= 0:
            raise FeedError(f"{path}:{line}: {column} {text!r} is not a price > 0")
        values[column] = value
    if values["high"] < values["low"]:
        raise FeedError(f"{path}:{line}: high {values['high']} is below low {values['low']}")
    instrument = (row.get("instrument") or "").strip() or default_instrument
    if not instrument:
        raise FeedError(f"{path}:{line}: no instrument in the row, and [orchestrator.feed] "
                        "instruments is empty")
    return bar_ts, instrument, values["close"]


class CsvReplayFeed:
    """Replays a user's OHLCV file one bar per iteration; its clock is the bars' timestamps."""

    def __init__(self, config: FeedConfig, last_prices: dict[str, float] | None = None) -> None:
        """Load and check the whole file at start, so a bad file fails the start, not a trade."""
        if not config.path:
            raise FeedError("feed kind 'csv' needs [orchestrator.feed] path")
        self.path = Path(config.path)
        self.bars = load_csv(self.path, config.instruments[0] if config.instruments else "")
        self.prices: dict[str, float] = dict(last_prices or {})

    def step(self, iteration: int, now: float) -> tuple[float, dict[str, float]] | None:
        """Bar number ``iteration`` (1-based) and the last close of every instrument seen so
        far; None after the last bar. ``now`` is ignored: replay time is the file's."""
        if iteration > len(self.bars):
            return None
        bar = self.bars[iteration - 1]
        self.prices.update(bar.closes)
        return bar.ts, dict(self.prices)

    def last_prices(self) -> dict[str, float]:
        """Closes of the last bar replayed."""
        return dict(self.prices)


def make_feed(config: FeedConfig, last_prices: dict[str, float] | None = None) -> Feed:
    """The feed named by ``config.kind``."""
    if config.kind == "csv":
        return CsvReplayFeed(config, last_prices)
    if config.kind == "sim":
        return SimulatedFeed(config, last_prices)
    # Never fall back to simulated prices for a feed meant to be live.
    raise FeedError(f"feed kind {config.kind!r} is not built by make_feed")


def replay(
    feed: Feed, clock: Clock, *, start: int = 1
) -> Iterator[tuple[int, float, dict[str, float]]]:
    """Iterate a feed with no loop pacing: (iteration, feed time, prices) until it ends.

    ``clock`` stands in for the wall clock of a simulated feed (a CSV replay uses its own), so a
    test or a backtest runs as fast as it can, deterministically.
    """
    iteration = start
    while True:
        bar = feed.step(iteration, clock())
        if bar is None:
            return
        yield iteration, bar[0], bar[1]
        iteration += 1
