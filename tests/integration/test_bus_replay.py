"""Bus replay on real processes: a restarted journal, alerter or breaker is given the events
published while it was down, so the journal has no gap and no RED event misses the outbox.

The sharpest case needs no timing luck: the supervisor publishes ``ChildTerminated`` for a child
exactly while that child is dead, so only a replay can bring it to that child.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from actors import wire
from actors._runtime import endpoints
from actors._runtime.store import connect_readonly
from actors.journal.chain import parse_raw
from actors.journal.layout import list_days, read_lines
from actors.orchestrator.messages import SignalRejected
from tests.support.tree import TreeRun

TWO = """
[supervisor]
children = ["journal", "alerter"]
intensity = 1000
period_s = 60.0
backoff_initial_s = 0.01
backoff_max_s = 0.02
"""


def _entries(state: Path) -> list[Any]:
    out = []
    for day in list_days(state):
        for line in read_lines(state, day):
            out.append(parse_raw(line.raw))
    return out


def _outbox(state: Path) -> list[tuple[str, str]]:
    """(kind, text) of every stored alert; empty until the alerter has created its outbox."""
    path = state / "alerter-outbox.sqlite"
    if not path.exists():
        return []
    con = connect_readonly(path)
    try:
        return [(str(k), str(t)) for k, t in con.execute("SELECT kind, text FROM alerts")]
    except sqlite3.OperationalError:
        return []  # created, schema not yet committed
    finally:
        con.close()


def _kill_and_wait(tree: TreeRun, name: str) -> int:
    mark = tree.mark()
    pid = tree.child_pid_cached(name)
    os.kill(pid, signal.SIGKILL)
    tree.wait_for("child_started", lambda ln: ln["child"] == name, after=mark, timeout=15)
    return pid


@pytest.mark.timeout(60)
def test_the_journal_records_the_termination_it_was_dead_for(tree_factory: Any) -> None:
    """The journal is SIGKILLed; the supervisor's ``ChildTerminated`` for it (published while it
    is down) is in the journal after its restart, once, and the chain verifies."""
    tree: TreeRun = tree_factory(TWO)
    tree.wait_started()
    dead = _kill_and_wait(tree, "journal")
    tree.wait_for("bus_replay_done", lambda ln: ln.get("events", 0) >= 1)
    tree.stop()
    entries = _entries(tree.state_dir)
    mine = [e for e in entries if e.event == "ChildTerminated" and e.fields["pid"] == dead]
    assert len(mine) == 1, [e.event for e in entries]
    ids = [e.fields["msg_id"] for e in entries if "msg_id" in e.fields]
    assert len(ids) == len(set(ids)), "an event was recorded twice"


@pytest.mark.timeout(60)
def test_the_alerter_stores_the_alert_for_its_own_crash(tree_factory: Any) -> None:
    """The alerter is SIGKILLed; the alert for its abnormal exit (published while it is down) is
    in its outbox after the restart."""
    tree: TreeRun = tree_factory(TWO)
    tree.wait_started()
    dead = _kill_and_wait(tree, "alerter")
    deadline = time.monotonic() + 10
    found: list[tuple[str, str]] = []
    while time.monotonic() < deadline and not found:
        found = [(k, t) for k, t in _outbox(tree.state_dir) if k == "ChildTerminated"
                 and (str(dead) in t or "alerter" in t)]
        time.sleep(0.05)
    assert found, "the alert for the alerter's own crash never reached its outbox"


def _paced(run_dir: Path, stop: threading.Event, sent: list[int], rate: float) -> None:
    """Push numbered events at ``rate`` per second until ``stop``; record what was sent."""
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(endpoints.bus_in(run_dir))
    codec = wire.codec()
    n = 0
    start = time.monotonic()
    try:
        while not stop.is_set():
            n += 1
            push.send(codec.encode("test", SignalRejected(iteration=n, reason="paced", code="p")))
            sent.append(n)
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    finally:
        push.close(linger=1000)
        ctx.term()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_journal_killed_20_times_under_steady_traffic_records_every_event_once(
    tree_factory: Any,
) -> None:
    """500 events/s on the bus; the journal is SIGKILLed 20 times at random moments. Every event
    the test sent is in the journal exactly once: no restart leaves a gap or a duplicate."""
    tree: TreeRun = tree_factory(TWO)
    tree.wait_started()
    stop = threading.Event()
    sent: list[int] = []
    sender = threading.Thread(target=_paced, args=(tree.run_dir, stop, sent, 500.0))
    sender.start()
    rng = random.Random(20)
    try:
        for _ in range(20):
            time.sleep(rng.uniform(0.05, 0.3))
            _kill_and_wait(tree, "journal")
        time.sleep(0.5)
    finally:
        stop.set()
        sender.join(timeout=10)
    time.sleep(1.0)  # let the journal catch up before the drain
    tree.stop()
    assert len(sent) > 2000
    got = [e.fields["iteration"] for e in _entries(tree.state_dir) if e.event == "SignalRejected"]
    assert len(got) == len(set(got)), "an event was recorded twice"
    missing = sorted(set(sent) - set(got))
    assert not missing, f"{len(missing)} events never recorded, first {missing[:10]}"
    assert not tree.events("bus_events_lost")
