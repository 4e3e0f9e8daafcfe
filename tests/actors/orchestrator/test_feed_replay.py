"""Feeds: CSV replay of OHLCV bars (errors name the file and line), the simulated feed's
regimes, and replay with an injected clock faster than real time."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import pytest

from actors.orchestrator.config import FeedConfig
from actors.orchestrator.feed import (
    CsvReplayFeed,
    FeedError,
    SimulatedFeed,
    load_csv,
    make_feed,
    replay,
)

GOOD = """timestamp,open,high,low,close,volume,instrument
2024-01-02T00:00:00,100,101,99,100.5,10,BTC-USD
2024-01-02T00:00:00,50,51,49,50.5,5,ETH-USD
2024-01-02T00:01:00,100.5,102,100,101.5,12,BTC-USD
1704153720,101.5,103,101,102.5,8,BTC-USD
"""


def _write(tmp: Path, text: str) -> Path:
    path = tmp / "bars.csv"
    path.write_text(text)
    return path


def test_csv_rows_with_one_timestamp_form_one_bar_stamped_with_its_time(tmp_path: Path) -> None:
    """Two instruments at the same time are one bar; ISO and epoch timestamps both read; the
    bar's time is the file's (UTC), and prices carry forward for instruments not in a row."""
    feed = make_feed(FeedConfig(kind="csv", path=str(_write(tmp_path, GOOD))))
    assert isinstance(feed, CsvReplayFeed)
    bars = list(replay(feed, clock=lambda: 0.0))
    assert [b[0] for b in bars] == [1, 2, 3]
    assert [b[1] for b in bars] == [1704153600.0, 1704153660.0, 1704153720.0]
    assert bars[0][2] == {"BTC-USD": 100.5, "ETH-USD": 50.5}
    assert bars[2][2] == {"BTC-USD": 102.5, "ETH-USD": 50.5}
    assert feed.step(4, 0.0) is None


def test_csv_without_instrument_column_uses_the_first_configured_instrument(
    tmp_path: Path,
) -> None:
    """The instrument column is optional."""
    path = _write(tmp_path, "timestamp,open,high,low,close,volume\n1,1,1,1,1,0\n2,1,2,1,2,0\n")
    bars = load_csv(path, "SPY")
    assert [b.closes for b in bars] == [{"SPY": 1.0}, {"SPY": 2.0}]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("timestamp,open,high,close,volume\n1,1,1,1,1\n", 1, "missing column(s) low"),
        ("timestamp,open,high,low,close,volume\n", 1, "no bars"),
        ("timestamp,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,1,1,abc,1\n", 3,
         "close 'abc' is not a number"),
        ("timestamp,open,high,low,close,volume\n1,1,1,1,nan,1\n", 2, "close is 'nan'"),
        ("timestamp,open,high,low,close,volume\n1,1,inf,1,1,1\n", 2, "high is 'inf'"),
        ("timestamp,open,high,low,close,volume\n1,1,1,1,0,1\n", 2, "not a price > 0"),
        ("timestamp,open,high,low,close,volume\n1,1,1,1,1,-3\n", 2, "volume '-3' is negative"),
        ("timestamp,open,high,low,close,volume\n1,1,1,2,1,1\n", 2, "high 1.0 is below low"),
        ("timestamp,open,high,low,close,volume\nyesterday,1,1,1,1,1\n", 2, "timestamp"),
        ("timestamp,open,high,low,close,volume\n5,1,1,1,1,1\n4,1,1,1,1,1\n", 3, "earlier"),
        ("timestamp,open,high,low,close,volume\n1,1,1,1,,1\n", 2, "close '' is not a number"),
    ],
)
def test_csv_errors_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    """Missing columns, bad numbers, NaN/Inf, non-positive prices, disorder: a FeedError that
    starts with ``<file>:<line>:`` and says what is wrong."""
    path = _write(tmp_path, text)
    with pytest.raises(FeedError) as info:
        CsvReplayFeed(FeedConfig(kind="csv", path=str(path)))
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message


def test_csv_feed_needs_an_existing_path(tmp_path: Path) -> None:
    """No path, or a missing file: a clear error naming it."""
    with pytest.raises(FeedError, match="needs"):
        make_feed(FeedConfig(kind="csv"))
    with pytest.raises(FeedError, match=r"nope\.csv"):
        make_feed(FeedConfig(kind="csv", path=str(tmp_path / "nope.csv")))


def test_replay_with_an_injected_clock_runs_faster_than_real_time(tmp_path: Path) -> None:
    """10,000 minute bars (about a week of feed time) replay in well under a second of wall
    time; the simulated feed stamps bars with whatever clock is injected."""
    rows = "".join(f"{1_700_000_000 + 60 * i},1,2,1,{1 + i % 7},1\n" for i in range(10_000))
    path = _write(tmp_path, "timestamp,open,high,low,close,volume\n" + rows)
    started = time.perf_counter()
    bars = list(replay(make_feed(FeedConfig(kind="csv", path=str(path))), clock=time.time))
    wall = time.perf_counter() - started
    feed_span = bars[-1][1] - bars[0][1]
    assert len(bars) == 10_000
    assert feed_span / wall > 1000
    fake = itertools.count(start=1000.0, step=0.5)
    sim = list(itertools.islice(replay(SimulatedFeed(FeedConfig()), clock=lambda: next(fake)), 3))
    assert [b[1] for b in sim] == [1000.0, 1000.5, 1001.0]


def test_simulated_regimes_are_seeded_and_stressed_blocks_are_wilder() -> None:
    """The same seed gives the same path; with regimes on, stressed blocks exist and their
    log-returns are more dispersed than calm ones."""
    cfg = FeedConfig(seed=3, regime_every=50, volatility=0.01, stressed_volatility_x=4.0)
    a = [SimulatedFeed(cfg).step(i, 0.0) for i in range(1, 3)]
    b = [SimulatedFeed(cfg).step(i, 0.0) for i in range(1, 3)]
    assert a == b
    feed = SimulatedFeed(cfg)
    calm: list[float] = []
    stressed: list[float] = []
    last = cfg.initial_price
    for i in range(1, 5001):
        price = feed.step(i, 0.0)[1]["BTC-USD"]
        (stressed if feed.stressed(i) else calm).append(math.log(price / last))
        last = price
    assert stressed
    assert calm
    spread = [max(abs(x) for x in xs) for xs in (calm, stressed)]
    assert spread[1] > 2 * spread[0]


def test_a_venue_feed_is_never_replaced_by_simulated_prices() -> None:
    """``kind = "venue"`` is not built by make_feed: it raises, never falls back to ``sim``."""
    with pytest.raises(FeedError, match="'venue'"):
        make_feed(FeedConfig(kind="venue"))
