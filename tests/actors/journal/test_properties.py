"""Property tests of the journal: no single-character change to a day file goes unnoticed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.journal.layout import day_path
from actors.journal.verify import verify

from .helpers import DAY1, DAY2, build, location


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Day files of a small two-day journal, as bytes, built once for all examples."""
    root = tmp_path_factory.mktemp("pristine")
    build(root, {DAY1: 4, DAY2: 4})
    return {day: day_path(root, day).read_bytes() for day in (DAY1, DAY2)}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_flipping_any_character_is_detected_at_its_line(
    pristine: dict[str, bytes], data: st.DataObject
) -> None:
    """Replacing any one character of any non-blank line (entries and headers) with any other
    character, newline included, makes verify fail, and the break is that very line: the
    change either breaks the line's hash or makes it unparseable."""
    day = data.draw(st.sampled_from(sorted(pristine)), label="day")
    file_lines = pristine[day].split(b"\n")[:-1]
    number = data.draw(
        st.sampled_from([i + 1 for i, raw in enumerate(file_lines) if raw]), label="line"
    )
    raw = file_lines[number - 1]
    column = data.draw(st.integers(0, len(raw) - 1), label="column")
    original = chr(raw[column])
    replacement = data.draw(
        st.characters(codec="utf-8").filter(lambda c: c != original), label="replacement"
    )
    file_lines[number - 1] = raw[:column] + replacement.encode() + raw[column + 1 :]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        day_path(root, DAY1).parent.mkdir(parents=True)
        for other, content in pristine.items():
            day_path(root, other).write_bytes(content)
        day_path(root, day).write_bytes(b"\n".join(file_lines) + b"\n")
        report = verify(root)

    assert not report.ok
    assert report.first_break == location(day, number), report.problem
