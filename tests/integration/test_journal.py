"""``quantfund journal verify`` against a tampered journal, and a journal actor killed while busy.

The tampering cases build day files with ``JournalWriter`` directly, tamper with them as an
attacker would, keep the daily anchors where the supervisor keeps them (the halts store, rows of
kind ``anchor``), and run the real command line in a subprocess: each case must exit non-zero and
name the right file:line. The chaos case SIGKILLs the journal actor of a real tree 50 times while
the test floods the bus, then the same command must pass (a torn line is allowed only when a
``TornEntryDetected`` entry records it byte for byte).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from actors import wire
from actors._runtime import endpoints
from actors._runtime.store import connect_readonly
from actors.journal.chain import make_line
from actors.journal.layout import day_path
from actors.journal.writer import FsyncPolicy, JournalWriter
from actors.orchestrator.messages import SignalRejected
from supervisor.halts import HaltsStore, RowKind
from supervisor.trading_state import Source
from tests.support.tree import TreeRun

REPO = Path(__file__).resolve().parents[2]
DAYS = ("2026-11-20", "2026-11-21", "2026-11-22")
PER_DAY = 5
FIRST = 3
"""Line number of a day file's first entry (after the header line and a blank line)."""


def _at(day: str, second: int) -> float:
    from datetime import UTC, datetime

    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, 10, 0, second, tzinfo=UTC).timestamp()


def _build(state: Path, *, anchor: bool = True) -> None:
    """Three days of five entries; the two finished days anchored in the halts store."""
    finals: dict[str, tuple[str, int]] = {}
    with JournalWriter(state, fsync=FsyncPolicy.NONE) as journal:
        for day in DAYS:
            for i in range(PER_DAY):
                entry = journal.append("OrderFilled", {"day": day, "i": i, "qty": 1.5},
                                       at=_at(day, i))
            finals[day] = (entry.hash, entry.seq)
    if anchor:
        store = HaltsStore.open(state / "halts.sqlite")
        try:
            for day in DAYS[:-1]:
                final_hash, last_seq = finals[day]
                store.append(RowKind.ANCHOR, source=Source.SUPERVISOR, who="journal",
                             reason=f"journal day {day} final hash", at=_at(DAYS[-1], 30),
                             payload={"day": day, "final_hash": final_hash, "last_seq": last_seq})
        finally:
            store.close()


def _lines(state: Path, day: str) -> list[bytes]:
    return day_path(state, day).read_bytes().splitlines(keepends=True)


def _write(state: Path, day: str, lines: list[bytes]) -> None:
    day_path(state, day).write_bytes(b"".join(lines))


def _verify(state: Path) -> tuple[int, dict[str, Any], str]:
    """Run ``quantfund journal verify`` twice (--json and text); exit code, report, text."""
    base = [sys.executable, "-m", "supervisor.cli", "journal", "verify", "--state-dir", str(state)]
    as_json = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=30,
                             cwd=REPO, check=False)
    text = subprocess.run(base, capture_output=True, text=True, timeout=30, cwd=REPO, check=False)
    assert as_json.returncode == text.returncode, (as_json, text)
    return as_json.returncode, json.loads(as_json.stdout), text.stdout


def _loc(day: str, line: int | None = None) -> str:
    return f"journal/{day}.md" + ("" if line is None else f":{line}")


@pytest.mark.timeout(60)
def test_an_intact_journal_verifies(tmp_path: Path) -> None:
    """Untouched: exit 0, every entry and day counted, both anchors used."""
    _build(tmp_path)
    code, report, text = _verify(tmp_path)
    assert code == 0, text
    assert report["ok"] is True
    assert report["entries_checked"] == 3 * PER_DAY
    assert report["days_checked"] == 3
    assert report["anchors_checked"] == 2
    assert text.startswith("journal OK: 15 entries checked over 3 days, 2 anchors")


@pytest.mark.timeout(60)
def test_an_edited_entry_is_found_at_its_line(tmp_path: Path) -> None:
    """A changed quantity in the 2nd day's 3rd entry: hash mismatch at exactly that line."""
    _build(tmp_path)
    lines = _lines(tmp_path, DAYS[1])
    target = FIRST + 2
    lines[target - 1] = lines[target - 1].replace(b'"qty":1.5', b'"qty":9.5')
    _write(tmp_path, DAYS[1], lines)
    code, report, text = _verify(tmp_path)
    assert code == 1
    assert report["first_break"] == _loc(DAYS[1], target)
    assert "hash mismatch" in report["problem"]
    assert f"BROKEN at {_loc(DAYS[1], target)}" in text


@pytest.mark.timeout(60)
def test_a_deleted_entry_is_found_at_the_line_after_the_gap(tmp_path: Path) -> None:
    """The 1st day's 2nd entry removed: the entry now in its place does not follow seq 1."""
    _build(tmp_path)
    lines = _lines(tmp_path, DAYS[0])
    del lines[FIRST]  # index FIRST is line FIRST + 1: the 2nd entry
    _write(tmp_path, DAYS[0], lines)
    code, report, _ = _verify(tmp_path)
    assert code == 1
    assert report["first_break"] == _loc(DAYS[0], FIRST + 1)
    assert "1 entries deleted" in report["problem"]


@pytest.mark.timeout(60)
def test_an_inserted_entry_is_found_at_its_line(tmp_path: Path) -> None:
    """A forged entry, with a correct hash of its own, slipped in after the 3rd day's 2nd entry:
    it does not link to the entry before it."""
    _build(tmp_path)
    lines = _lines(tmp_path, DAYS[2])
    _, forged = make_line(2 * PER_DAY + 3, "2026-11-22T10:00:01.500000Z", "OrderFilled",
                          {"day": DAYS[2], "i": 99, "qty": 100.0}, "f" * 64)
    lines.insert(FIRST + 1, forged.encode() + b"\n")
    _write(tmp_path, DAYS[2], lines)
    code, report, _ = _verify(tmp_path)
    assert code == 1
    assert report["first_break"] == _loc(DAYS[2], FIRST + 2)
    assert "prev does not match" in report["problem"]


@pytest.mark.timeout(60)
def test_reordered_entries_are_found_at_the_first_moved_line(tmp_path: Path) -> None:
    """The 2nd day's 2nd and 3rd entries swapped: the break is at the first of them."""
    _build(tmp_path)
    lines = _lines(tmp_path, DAYS[1])
    a, b = FIRST, FIRST + 1  # indexes of lines FIRST+1 and FIRST+2
    lines[a], lines[b] = lines[b], lines[a]
    _write(tmp_path, DAYS[1], lines)
    code, report, _ = _verify(tmp_path)
    assert code == 1
    assert report["first_break"] == _loc(DAYS[1], FIRST + 1)
    assert "seq jumps" in report["problem"] or "reordered" in report["problem"]


@pytest.mark.timeout(60)
def test_a_missing_day_file_is_named(tmp_path: Path) -> None:
    """The 2nd day's file deleted: named as missing (it has an anchor)."""
    _build(tmp_path)
    day_path(tmp_path, DAYS[1]).unlink()
    code, report, text = _verify(tmp_path)
    assert code == 1
    assert report["first_break"] == _loc(DAYS[1])
    assert "missing" in report["problem"]
    assert f"BROKEN at {_loc(DAYS[1])}:" in text


@pytest.mark.timeout(60)
def test_a_missing_day_file_without_anchors_still_breaks_the_chain(tmp_path: Path) -> None:
    """Even with no anchors, a missing middle day breaks the link into the next day's file."""
    _build(tmp_path, anchor=False)
    day_path(tmp_path, DAYS[1]).unlink()
    code, report, _ = _verify(tmp_path)
    assert code == 1
    assert report["first_break"] == _loc(DAYS[2], FIRST)
    assert report["anchors_checked"] == 0


@pytest.mark.timeout(60)
def test_a_truncated_tail_is_found_only_thanks_to_the_anchor(tmp_path: Path) -> None:
    """The last two entries of the 2nd day cut, and the 3rd day deleted so that the bare chain
    is consistent: without anchors that passes (a hash chain cannot see a missing tail); with
    the halts store's anchors, verify names the line where the day's tail went missing."""
    _build(tmp_path)
    lines = _lines(tmp_path, DAYS[1])
    _write(tmp_path, DAYS[1], lines[:-2])
    day_path(tmp_path, DAYS[2]).unlink()
    halts = tmp_path / "halts.sqlite"
    hidden = tmp_path / "halts.hidden"
    halts.rename(hidden)
    code, report, text = _verify(tmp_path)
    assert code == 0, "a bare chain cannot see a cut tail; this is what the anchor is for"
    assert "no halts store" in text
    hidden.rename(halts)
    code, report, text = _verify(tmp_path)
    assert code == 1
    cut_at = FIRST + PER_DAY - 2  # the first line that is gone
    assert report["first_break"] == _loc(DAYS[1], cut_at)
    assert "anchor" in report["problem"]
    assert f"BROKEN at {_loc(DAYS[1], cut_at)}" in text


# --- chaos: the journal actor SIGKILLed while busy -----------------------------------------

KILLS = 50
CHAOS = """
[supervisor]
children = ["journal"]
intensity = 1000
period_s = 60.0
backoff_initial_s = 0.01
backoff_max_s = 0.02
[journal]
fsync = "batch"
"""


def _flood(run_dir: Path, stop: threading.Event, sent: list[int]) -> None:
    """Push events onto the bus as fast as the hub takes them, until ``stop``."""
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDHWM, 1000)
    push.connect(endpoints.bus_in(run_dir))
    codec = wire.codec()
    n = 0
    try:
        while not stop.is_set():
            n += 1
            event = SignalRejected(iteration=n, reason="chaos " + "x" * (n % 40), code="c")
            try:
                push.send(codec.encode("chaos", event), flags=zmq.NOBLOCK)
            except zmq.Again:
                time.sleep(0.001)
                continue
            if n % 200 == 0:
                time.sleep(0.001)
        sent.append(n)
    finally:
        push.close(linger=0)
        ctx.term()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_journal_actor_killed_50_times_while_busy_verifies(tree_factory: Any) -> None:
    """A real tree whose journal receives a flood of events; its process is SIGKILLed 50 times at
    random moments (each time restarted by the supervisor). Afterwards ``quantfund journal
    verify`` exits 0: the chain holds across every restart, and any torn line is one a
    ``TornEntryDetected`` entry recorded byte for byte (listed as such)."""
    tree: TreeRun = tree_factory(CHAOS)
    tree.wait_started()
    stop = threading.Event()
    sent: list[int] = []
    flooder = threading.Thread(target=_flood, args=(tree.run_dir, stop, sent))
    flooder.start()
    rng = random.Random(50)
    killed: list[int] = []
    try:
        for _ in range(KILLS):
            mark = tree.mark()
            pid = tree.child_pid_cached("journal")
            time.sleep(rng.uniform(0.02, 0.15))  # let it write, then kill at a random moment
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            tree.wait_for("child_started", lambda ln: ln["child"] == "journal", after=mark,
                          timeout=15)
        time.sleep(0.3)
    finally:
        stop.set()
        flooder.join(timeout=10)
    assert len(set(killed)) == KILLS
    assert sent, "the flood thread did not finish"
    assert sent[0] > 1000, "the bus was not busy"
    tree.stop()
    code, report, text = _verify(tree.state_dir)
    assert code == 0, text
    assert report["entries_checked"] > 1000
    # Every torn line listed is one a TornEntryDetected entry names (verify checks the bytes);
    # the count of such entries matches what the log said was recorded.
    journal_text = b"".join(
        path.read_bytes() for path in sorted((tree.state_dir / "journal").glob("*.md"))
    )
    # Replay after each restart brings back what was missed, never twice (ids are unique).
    ids = re.findall(rb'"msg_id":"([0-9a-f]+)"', journal_text)
    assert len(ids) == len(set(ids)), "an event was recorded twice"
    recorded = journal_text.count(b"| TornEntryDetected |")
    assert len(report["torn_entries"]) >= recorded
    if recorded == 0:
        assert report["torn_entries"] == []


# --- anchors from a real tree -------------------------------------------------------------


def _anchor_rows(state: Path) -> list[dict[str, Any]]:
    import sqlite3

    path = state / "halts.sqlite"
    if not path.exists():
        return []
    con = connect_readonly(path)
    try:
        rows = con.execute("SELECT payload FROM halts WHERE kind = 'anchor' ORDER BY seq")
        return [json.loads(r[0]) for r in rows.fetchall()]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


@pytest.mark.timeout(90)
def test_a_real_tree_anchors_finished_days_in_the_halts_store(
    tmp_path: Path, tree_factory: Any
) -> None:
    """A journal left with two past days: at start the journal actor anchors the older one
    (finished while it was down) and, at its first entry of today, the other (rollover). The
    supervisor writes both into the halts store, the journal records them, and ``journal
    verify`` then checks both days' tails against them."""
    state = tmp_path / "t0" / "state"
    old = ("2026-01-01", "2026-01-02")
    with JournalWriter(state, fsync=FsyncPolicy.NONE) as journal:
        for day in old:
            for i in range(3):
                journal.append("OrderFilled", {"day": day, "i": i}, at=_at(day, i))
    tree: TreeRun = tree_factory('[supervisor]\nchildren = ["journal", "alerter"]\n')
    assert tree.state_dir == state
    tree.wait_started()
    deadline = time.monotonic() + 10
    while len(_anchor_rows(state)) < 2:
        assert time.monotonic() < deadline, _anchor_rows(state)
        time.sleep(0.05)
    rows = _anchor_rows(state)
    assert [(r["day"], r["last_seq"]) for r in rows] == [(old[0], 3), (old[1], 6)]
    tree.stop()
    code, report, text = _verify(state)
    assert code == 0, text
    assert report["anchors_checked"] == 2
    today = sorted(p.name for p in (state / "journal").glob("*.md"))[-1]
    assert (state / "journal" / today).read_text().count("| JournalAnchored |") == 2
