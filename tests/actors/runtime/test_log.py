"""Log lines on a shared stdout: a line longer than one atomic pipe write is split into a head
and ordered parts, each atomic, that together carry the original line unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import pytest

from actors._runtime.log import LINE_MAX, split_line


def _join(lines: list[str]) -> tuple[dict[str, object], str]:
    head = json.loads(lines[0])
    parts = [json.loads(line) for line in lines[1:]]
    assert [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert all(p["part_of"] == head["continued_in"] for p in parts)
    return head, "".join(str(p["text"]) for p in parts)


@pytest.mark.parametrize("text", ["x" * 20_000, "\"quoted\\\\\" é ü 😀 " * 800, "\n" * 9000])
def test_a_long_line_is_split_into_atomic_parts_that_rebuild_it(text: str) -> None:
    """Every line fits one atomic write; the parts rebuild the original line exactly; the head
    keeps the event name and says how many parts follow."""
    line = json.dumps({"event": "actor_crashed", "actor": "journal", "pid": 7, "exception": text})
    out = split_line(line)
    assert all(len(x.encode()) + 1 <= LINE_MAX for x in out)
    head, rebuilt = _join(out)
    assert rebuilt == line
    assert head["event"] == "actor_crashed"
    assert head["parts"] == len(out) - 1


_CHILD = """
import sys
from actors._runtime import log
log.configure("w" + sys.argv[1], json_lines=True)
for i in range(40):
    log.get().error("big", i=i, blob=sys.argv[1] * 9000)
"""


@pytest.mark.timeout(60)
def test_four_processes_writing_long_lines_to_one_pipe_never_interleave() -> None:
    """Four processes log 9 KB lines to one pipe at once: every line read back is valid JSON,
    and each process's lines rebuild to its 40 events."""
    procs = "abcd"
    read_fd, write_fd = os.pipe()
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, p], stdout=write_fd,
                                 cwd=os.getcwd()) for p in procs]
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        raw = pipe.read()
    for child in children:
        assert child.wait(timeout=30) == 0
    lines = [json.loads(x) for x in raw.decode().splitlines()]  # a torn line fails here
    texts: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        if line["event"] == "log_line_part":
            texts[str(line["part_of"])].append(str(line["text"]))
    events = [json.loads("".join(chunks)) for chunks in texts.values()]
    for p in procs:
        mine = sorted(e["i"] for e in events if e["actor"] == "w" + p)
        assert mine == list(range(40))
        assert all(e["blob"] == p * 9000 for e in events if e["actor"] == "w" + p)
