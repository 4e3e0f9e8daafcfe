"""Fuzzing the CSV replay reader: any file gives bars that are safe to trade on, or a
FeedError that starts ``<file>:<line>:`` (as `load_csv` documents); never another exception.

``test_feed_replay.py`` pins one message per kind of error; here the files are random bytes,
random cells (quotes, commas, newlines, NUL, non-UTF-8 bytes, huge fields) and good files with
one cell made bad, whose error must name that row's line.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from actors.orchestrator.config import FeedConfig
from actors.orchestrator.feed import (
    REQUIRED_COLUMNS,
    CsvBar,
    CsvReplayFeed,
    FeedError,
    load_csv,
)

_HEADER = ",".join(REQUIRED_COLUMNS)


def _load(data: bytes) -> tuple[Path, list[CsvBar] | FeedError]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bars.csv"
        path.write_bytes(data)
        try:
            return path, load_csv(path, "BTC-USD")
        except FeedError as exc:
            return path, exc


def _check(data: bytes) -> tuple[Path, list[CsvBar] | FeedError]:
    """The property: safe bars, or a FeedError naming the file and a line of it."""
    path, result = _load(data)
    if isinstance(result, FeedError):
        match = re.match(rf"{re.escape(str(path))}:(?P<line>[0-9]+): .", str(result))
        assert match, result
        # Lines as the csv module counts them: a lone \r ends a line too (old Mac files).
        lines = len(re.split(rb"\r\n|\r|\n", data))
        assert 1 <= int(match["line"]) <= lines, result
    else:
        assert result
        stamps = [bar.ts for bar in result]
        assert all(math.isfinite(ts) for ts in stamps)
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps)
        for bar in result:
            assert bar.closes
            assert all(math.isfinite(c) and c > 0 for c in bar.closes.values())
    return path, result


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300), with_header=st.booleans())
@example(body=b"1,\xff,1,1,1,1\n", with_header=True)  # found: UnicodeDecodeError escaped
@example(body=b"1," + b"1" * 200_000 + b",1,1,1,1\n", with_header=True)  # found: csv.Error
@example(body=b"1,1,1,1,1,1\r\x00,1", with_header=True)  # found: a lone \r ends a line
def test_any_bytes_give_bars_or_a_feed_error_naming_file_and_line(
    body: bytes, with_header: bool
) -> None:
    """Random bytes, with or without a valid header in front: bars or ``<file>:<line>:``."""
    _check((_HEADER.encode() + b"\n" if with_header else b"") + body)


_cells = st.text(max_size=12) | st.sampled_from([
    "1", "100.5", "-1", "0", "nan", "NaN", "inf", "-inf", "1e400", "1e-400", "", " 2 ",
    "2024-01-02T00:00:00", "2024-01-02T00:00:00+05:00", "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59", "2024-13-01", "1_000", "\x00", '"', ",", "\n", "\ufeff",
])


@settings(max_examples=200, deadline=None)
@given(
    header=st.lists(st.sampled_from([*REQUIRED_COLUMNS, "instrument", "x", " Close ", ""]),
                    min_size=0, max_size=8),
    rows=st.lists(st.lists(_cells, max_size=8), max_size=6),
)
def test_random_cells_give_bars_or_a_feed_error_naming_file_and_line(
    header: list[str], rows: list[list[str]]
) -> None:
    """Any header (columns missing, repeated, reordered, padded) and rows of any cells (NaN,
    Inf, negative, empty, bad dates, quotes, newlines, NUL): safe bars or a located error."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _check(out.getvalue().encode())


_BAD = {
    "timestamp": ["nan", "inf", "-inf", "1e400", "abc", "", "2024-13-01", "EARLIER"],
    "open": ["0", "-1", "nan", "inf", "-inf", "abc", "", "1e400"],
    "high": ["0", "-1", "nan", "inf", "abc", "", "LOW"],
    "low": ["0", "-1", "nan", "-inf", "abc", ""],
    "close": ["0", "-1", "nan", "inf", "abc", ""],
    "volume": ["-1", "nan", "inf", "abc", "", "-1e400"],
}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_one_bad_cell_is_named_by_its_line(data: st.DataObject) -> None:
    """A good file with one cell made bad (NaN/Inf, <= 0, not a number, empty, a bad or an
    earlier timestamp, high below low) or cut short: the FeedError names that row's line."""
    count = data.draw(st.integers(1, 6), label="rows")
    rows = [[str(1_700_000_000 + 60 * i), "10", "12", "9", "11", "5"] for i in range(count)]
    row = data.draw(st.integers(0, count - 1), label="row")
    column = data.draw(st.sampled_from(REQUIRED_COLUMNS), label="column")
    bad = data.draw(st.sampled_from([*_BAD[column], "CUT"]), label="bad")
    at = REQUIRED_COLUMNS.index(column)
    if bad == "EARLIER":
        bad = "1600000000"
    elif bad == "LOW":
        bad = "8.5"  # below low (9)
    if bad == "CUT":
        if at == 0:
            return  # an empty line is no row at all (csv skips it)
        rows[row] = rows[row][:at]
    else:
        rows[row][at] = bad
    text = _HEADER + "\n" + "".join(",".join(r) + "\n" for r in rows)
    path, result = _check(text.encode())
    if bad == "1600000000" and row == 0:
        assert not isinstance(result, FeedError)  # nothing before it to be earlier than
        return
    assert isinstance(result, FeedError), (text, result)
    assert str(result).startswith(f"{path}:{row + 2}: "), result


def test_a_row_without_instrument_and_none_configured_is_named(tmp_path: Path) -> None:
    """``instruments = []`` with a file whose rows name none: a FeedError naming the row's line
    (it was an IndexError at start); rows that name their instrument still load."""
    path = tmp_path / "bars.csv"
    path.write_text(f"{_HEADER},instrument\n1,1,1,1,1,1,ETH-USD\n2,1,1,1,1,1,\n")
    with pytest.raises(FeedError, match=rf"^{re.escape(str(path))}:3: no instrument"):
        CsvReplayFeed(FeedConfig(kind="csv", path=str(path), instruments=[]))
    path.write_text(f"{_HEADER},instrument\n1,1,1,1,1,1,ETH-USD\n")
    feed = CsvReplayFeed(FeedConfig(kind="csv", path=str(path), instruments=[]))
    assert feed.step(1, 0.0) == (1.0, {"ETH-USD": 1.0})
