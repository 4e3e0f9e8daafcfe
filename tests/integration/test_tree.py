"""The default tree as a user runs it: six actors, status, drain order, crashes and bad bytes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import msgspec
import psutil
import pytest
import zmq

from actors._runtime import endpoints
from actors._runtime.store import read_snapshot
from actors.alerter.actor import AlerterActor
from actors.breaker.actor import BreakerActor
from actors.execution.actor import Book, ExecutionActor
from actors.heartbeat.actor import HeartbeatActor
from actors.orchestrator.actor import OrchestratorActor
from supervisor import config as config_mod
from tests.support.tree import alive, assert_gone, wait_stopped

SIX = ["journal", "alerter", "heartbeat", "breaker", "execution", "orchestrator"]


def test_status_shows_six_actors_alive_and_the_loop_advancing(tree_factory) -> None:
    """`status` lists the six actors alive, beating, and the orchestrator's iterations grow."""
    tree = tree_factory()
    tree.wait_started()
    tree.wait_for("alert")  # something flowed through the bus
    first = tree.status()
    assert [a.name for a in first.actors] == SIX
    assert all(a.alive and a.pid for a in first.actors)
    assert first.trading_state == "ACTIVE"
    assert first.supervisor.pid == tree.pid
    deadline = time.monotonic() + 10
    while True:
        later = tree.status()
        it0 = next(a for a in first.actors if a.name == "orchestrator").iterations or 0
        it1 = next(a for a in later.actors if a.name == "orchestrator").iterations or 0
        if it1 > it0 and all(a.last_heartbeat_age_s is not None for a in later.actors):
            break
        assert time.monotonic() < deadline, later
        time.sleep(0.2)
    assert all(a.last_heartbeat_age_s < 5 for a in later.actors)
    # Each process is named for an operator (``top``, ``ps -o comm``, ``pgrep qf-``).
    names = {a.name: Path(f"/proc/{a.pid}/comm").read_text().strip() for a in later.actors}
    assert names == {a: f"qf-{a}"[:15] for a in SIX}
    assert Path(f"/proc/{tree.pid}/comm").read_text().strip() == "qf-supervisor"
    zygote = tree.wait_for("supervisor_started")["zygote_pid"]
    assert Path(f"/proc/{zygote}/comm").read_text().strip() == "qf-zygote"


def test_child_nice_puts_every_actor_below_the_supervisor(tree_factory) -> None:
    """``runtime.child_nice`` (and ``child_nice_by_actor``, merged over the default's): each
    actor process, a restarted one too, runs that much nicer than the supervisor, which keeps
    its own priority."""
    tree = tree_factory("[runtime]\nchild_nice = 4\n[runtime.child_nice_by_actor]\n"
                        "execution = 2\n")
    tree.wait_started()
    base = psutil.Process(tree.pid).nice()
    assert base + 4 <= 19, "the test runs at a niceness that leaves no room"
    want = dict.fromkeys(SIX, base + 4) | {"execution": base + 2, "orchestrator": base}
    actors = tree.status().actors
    assert {a.name: psutil.Process(a.pid).nice() for a in actors} == want
    mark = tree.mark()
    os.kill(tree.child_pid("execution"), signal.SIGKILL)
    new = tree.wait_for("child_started", lambda ln: ln["child"] == "execution", after=mark)
    assert psutil.Process(new["child_pid"]).nice() == base + 2


def test_the_default_trades_within_20_s_and_status_shows_positions_and_orders(
    tree_factory,
) -> None:
    """A new user sees orders and positions at once: within 20 s of start, `status` reports
    execution's positions and its orders by status (shadow mode: RECORDED)."""
    tree = tree_factory()
    tree.wait_started()
    deadline = time.monotonic() + 20
    while True:
        st = tree.status()
        if st.orders.get("RECORDED", 0) > 0 and st.positions:
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.25)
    assert set(st.positions) <= {"BTC-USD", "ETH-USD"}
    assert all(q != 0 for q in st.positions.values())


def test_sigterm_stops_children_in_reverse_start_order_and_exits_0(tree_factory) -> None:
    """SIGTERM drains orchestrator first and journal last; exit 0; no process left."""
    tree = tree_factory()
    tree.wait_started()
    tree.signal(signal.SIGTERM)
    assert tree.wait_exit() == 0
    order = [line["child"] for line in tree.events("child_terminated")]
    assert order == list(reversed(SIX))
    assert all(line["reason"] == "shutdown" for line in tree.events("child_terminated"))
    assert_gone(tree.logged_pids())


def test_sigint_drains_like_sigterm(tree_factory) -> None:
    """Ctrl-C (SIGINT) is an ordered stop too: children ignore it; the supervisor drains them."""
    tree = tree_factory()
    tree.wait_started()
    tree.signal(signal.SIGINT)
    assert tree.wait_exit() == 0
    assert [line["child"] for line in tree.events("child_terminated")] == list(reversed(SIX))


def test_supervisor_sigkill_takes_every_actor_with_it_within_1s(tree_factory) -> None:
    """No actor outlives its supervisor (parent-death signal)."""
    tree = tree_factory()
    tree.wait_started()
    pids = {a.pid for a in tree.status().actors if a.pid}
    assert len(pids) == 6
    tree.signal(signal.SIGKILL)
    t0 = time.monotonic()
    tree.wait_exit()
    assert_gone(pids, timeout=1.0)
    assert time.monotonic() - t0 <= 1.5


def _expected_summary(name: str, tree, snapshot: dict[str, bytes]) -> dict:
    """What the actor should report restoring, computed from its state file while frozen."""
    cfg = config_mod.load(tree.tmp / "test.toml")
    classes = {
        "orchestrator": OrchestratorActor, "execution": ExecutionActor,
        "heartbeat": HeartbeatActor, "breaker": BreakerActor, "alerter": AlerterActor,
    }
    section = cfg.section(name)
    if name == "heartbeat":
        section["heartbeat_interval_s"] = cfg.runtime.heartbeat_interval_s
    typed = msgspec.convert(section, classes[name].config_type)
    return classes[name](name, typed, snapshot, tree.state_dir).summary()


def _journal_last_seq(tree) -> int:
    files = sorted((tree.state_dir / "journal").glob("*.md"))
    lines = [ln for ln in files[-1].read_text().splitlines() if ln.startswith("- ")]
    return int(lines[-1].split("|")[0].strip("- ").strip())


@pytest.mark.parametrize("name", SIX)
def test_sigkilled_actor_is_restarted_and_resumes_from_its_persisted_state(
    tree_factory, name: str
) -> None:
    """SIGKILL of one actor: restarted (one_for_one), and what it restores equals what it had
    persisted at the moment it died (frozen with SIGSTOP, read, then killed)."""
    tree = tree_factory()
    tree.wait_started()
    tree.wait_for("alert", lambda ln: "filled" in ln.get("text", ""), timeout=30)
    pid = tree.child_pid(name)
    others = {a.name: a.pid for a in tree.status().actors if a.name != name}
    os.kill(pid, signal.SIGSTOP)
    wait_stopped(pid)  # the signal is sent, not yet taken: a commit may still be under way
    if name == "journal":
        expected_iterations = _journal_last_seq(tree)
    else:
        snap = read_snapshot(tree.state_dir / f"{name}.sqlite")
        expected = _expected_summary(name, tree, snap)
    mark = tree.mark()
    os.kill(pid, signal.SIGKILL)
    term = tree.wait_for("child_terminated", lambda ln: ln["child"] == name, after=mark)
    assert term["reason"] == "killed"
    assert term["exit_status"] == -9
    started = tree.wait_for("child_started", lambda ln: ln["child"] == name, after=mark)
    assert started["child_pid"] != pid
    assert started["restarts"] == 1
    if name == "journal":
        # The chain head after restart is the last entry on disk (plus nothing torn here).
        assert started["restored"]["iterations"] == expected_iterations
    else:
        assert started["restored"] == expected
    if name == "execution":
        book = msgspec.msgpack.decode(snap["book"], type=Book)
        assert book.portfolio.fills > 0  # there really was state to lose
    status = tree.status()
    assert {a.name: a.pid for a in status.actors if a.name != name} == others
    assert all(a.alive for a in status.actors)


def test_malformed_bytes_on_every_socket_are_counted_and_dropped(tree_factory) -> None:
    """Garbage on bus-in, control, admin and execution's command socket kills nothing."""
    tree = tree_factory()
    tree.wait_started()
    pids = {a.name: a.pid for a in tree.status().actors}
    ctx = zmq.Context()
    try:
        push = ctx.socket(zmq.PUSH)
        push.connect(endpoints.bus_in(tree.run_dir))
        push.send(b"\x00not msgpack")
        unknown = {"sender": "x", "msg_id": "1", "payload": {"type": "Nope"}}
        push.send(msgspec.msgpack.encode(unknown))
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.IDENTITY, b"intruder")
        dealer.connect(endpoints.control(tree.run_dir))
        dealer.send(b"\xff\xfe")
        cmd = ctx.socket(zmq.DEALER)
        cmd.connect(endpoints.commands(tree.run_dir, "execution"))
        cmd.send(b"garbage")
        admin = ctx.socket(zmq.DEALER)
        admin.connect(endpoints.admin(tree.run_dir))
        admin.send_multipart([b"", b"\x93not a request"])
        assert admin.poll(3000)
        reply = admin.recv_multipart()[-1]
        assert b"bad request" in reply
        tree.wait_for("bad_message", lambda ln: ln.get("socket") == "bus-in")
        tree.wait_for("bad_message", lambda ln: ln.get("socket") == "control")
        tree.wait_for("bad_message", lambda ln: ln.get("actor") == "execution"
                      and ln.get("socket") == "commands")
        tree.wait_for("bad_admin_request")
        for sock in (push, dealer, cmd, admin):
            sock.close(linger=0)
    finally:
        ctx.term()
    status = tree.status()
    assert {a.name: a.pid for a in status.actors} == pids
    assert status.supervisor.bad_messages["bus-in"] >= 2
    assert all(alive(p) for p in pids.values())
