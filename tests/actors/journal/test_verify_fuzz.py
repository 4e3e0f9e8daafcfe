"""Fuzzing the journal's line decoder and `verify`: random and mutated lines, whole lines
replaced, inserted, deleted or swapped, day files with any content and any day-like name.

``test_properties.py`` flips one character; here whole lines and files change. The property:
`read_entry` returns an entry or raises `MalformedEntry`; `verify` always returns a report,
and a broken journal is reported at ``journal/<day>.md:<line>`` (or the file) with a reason.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from actors.journal.chain import read_entry
from actors.journal.errors import MalformedEntry
from actors.journal.layout import day_path, header_bytes
from actors.journal.verify import VerifyReport, day_final_hash, verify

from .helpers import DAY1, DAY2, DAY3, build, location

_LOCATION = re.compile(r"journal/[0-9]{4}-[0-9]{2}-[0-9]{2}\.md(:[1-9][0-9]*)?")
_PREFIX = b"- 000001 | 2026-11-23T22:31:58.123456Z | OrderFilled | "
_SUFFIX = b" | prev=" + b"0" * 64 + b" | hash=" + b"0" * 64


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Day files of a small three-day journal, as bytes, built once for all examples."""
    root = tmp_path_factory.mktemp("pristine_fz")
    build(root, {DAY1: 3, DAY2: 3, DAY3: 3})
    return {day: day_path(root, day).read_bytes() for day in (DAY1, DAY2, DAY3)}


@pytest.fixture(scope="module")
def anchors(pristine: dict[str, bytes]) -> dict[str, str]:
    """Each day's final hash, so that cut tails are breaks too."""
    with tempfile.TemporaryDirectory() as tmp:
        root = _write(Path(tmp), pristine)
        found = {day: day_final_hash(root, day) for day in pristine}
    return {day: h for day, h in found.items() if h is not None}


def _write(root: Path, files: dict[str, bytes]) -> Path:
    day_path(root, DAY1).parent.mkdir(parents=True, exist_ok=True)
    for day, content in files.items():
        day_path(root, day).write_bytes(content)
    return root


def _verify(files: dict[str, bytes], anchors: dict[str, str] | None = None) -> VerifyReport:
    with tempfile.TemporaryDirectory() as tmp:
        return verify(_write(Path(tmp), files), anchors=anchors)


def _assert_located(report: VerifyReport) -> None:
    """A broken report names a place and a reason."""
    assert not report.ok
    assert report.first_break is not None
    assert _LOCATION.fullmatch(report.first_break), report
    assert report.problem


# --- one line -------------------------------------------------------------------------

_json_bits = st.sampled_from([b"{}", b'{"a":1}', b"[", b"{", b'{"a":NaN}', b'{"b":1,"a":2}',
                              b"1" * 5000, b'"x"', b"null", b"{\"a\":\"\\ud800\"}"])


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    """Random bytes, or entry-shaped lines with one part replaced by something odd."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    parts = [b"- 000001", b"2026-11-23T22:31:58.123456Z", b"OrderFilled", b"{}",
             b"prev=" + b"0" * 64, b"hash=" + b"0" * 64]
    index = draw(st.integers(0, len(parts) - 1))
    parts[index] = draw(st.binary(max_size=80) | _json_bits | st.sampled_from(
        [b"- " + b"9" * 5000, b"- 000000", b"2026-02-30T00:00:00.000000Z", b"9Event", b""]))
    return b" | ".join(parts)


@settings(max_examples=400, deadline=None)
@given(raw=_lines())
@example(raw=_PREFIX + b"[" * 100_000 + _SUFFIX)  # found by fuzzing: RecursionError escaped
@example(raw=_PREFIX + b'{"a":' * 100_000 + _SUFFIX)
@example(raw=b"- " + b"1" * 5000 + b" | 2026-11-23T22:31:58.123456Z | E | {}" + _SUFFIX)  # ditto:
# ValueError from int() past 4,300 digits escaped
def test_any_line_is_an_entry_or_malformed_entry(raw: bytes) -> None:
    """`read_entry` (used by verify and by the writer when it reopens a file) returns an entry
    or raises MalformedEntry naming the bad part; never RecursionError or ValueError."""
    problem: str | None = None
    try:
        entry, _intact = read_entry(raw)
    except MalformedEntry as exc:
        problem = str(exc)
    else:
        assert entry.seq >= 1
    assert problem != ""  # a MalformedEntry always says which part is wrong


# --- whole lines of a real journal ------------------------------------------------------


def _entry_lines(content: bytes) -> list[int]:
    """0-based indexes of the entry lines (after the header and its blank line)."""
    return list(range(2, len(content.split(b"\n")) - 1))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_line_replaced_or_inserted_is_the_first_break(
    pristine: dict[str, bytes], data: st.DataObject
) -> None:
    """Replace an entry line with, or insert before it, any bytes that are not an entry (one
    line or several): verify reports that very line as the first break."""
    day = data.draw(st.sampled_from(sorted(pristine)), label="day")
    lines = pristine[day].split(b"\n")
    index = data.draw(st.sampled_from(_entry_lines(pristine[day])), label="line")
    junk = data.draw(_lines(), label="junk")
    if data.draw(st.booleans(), label="insert"):
        lines.insert(index, junk)
    else:
        if junk == lines[index]:
            return
        lines[index] = junk
    report = _verify({**pristine, day: b"\n".join(lines)})
    _assert_located(report)
    assert report.first_break == location(day, index + 1), report.problem


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_lines_deleted_duplicated_or_swapped_are_found(
    pristine: dict[str, bytes], anchors: dict[str, str], data: st.DataObject
) -> None:
    """Delete, duplicate or swap entry lines (anchors given, so a cut tail counts too): verify
    reports a break at a line of that day file or a later one, with a reason."""
    day = data.draw(st.sampled_from(sorted(pristine)), label="day")
    lines = pristine[day].split(b"\n")
    entries = _entry_lines(pristine[day])
    a = data.draw(st.sampled_from(entries), label="a")
    b = data.draw(st.sampled_from(entries).filter(lambda i: i != a), label="b")
    op = data.draw(st.sampled_from(["delete", "duplicate", "swap"]), label="op")
    if op == "delete":
        del lines[a]
    elif op == "duplicate":
        lines.insert(b, lines[a])
    else:
        lines[a], lines[b] = lines[b], lines[a]
    report = _verify({**pristine, day: b"\n".join(lines)}, anchors)
    _assert_located(report)
    assert report.first_break is not None
    assert report.first_break.split(":")[0] >= f"journal/{day}.md", report


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=400), day=st.sampled_from([DAY1, DAY2, DAY3]))
def test_a_day_file_with_any_content_gives_a_report(
    pristine: dict[str, bytes], content: bytes, day: str
) -> None:
    """A day file replaced by any bytes at all: verify returns a report; a break is located."""
    report = _verify({**pristine, day: content})
    if not report.ok:
        _assert_located(report)


@settings(max_examples=100, deadline=None)
@given(
    name=st.from_regex(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    drop=st.sampled_from([DAY1, DAY2, DAY3]),
)
@example(name="2026-11-99", drop=DAY2)  # found by fuzzing: ValueError from date.fromisoformat
def test_day_files_with_any_day_like_name_give_a_report(
    pristine: dict[str, bytes], name: str, drop: str
) -> None:
    """A day file renamed to any ``YYYY-MM-DD.md`` name, real date or not (header rewritten to
    match), with another day missing: verify reports instead of raising."""
    files = dict(pristine)
    content = files.pop(DAY3)
    files.pop(drop, None)
    files[name] = content.replace(header_bytes(DAY3), header_bytes(name), 1)
    report = _verify(files)
    if not report.ok:
        _assert_located(report)
