"""The heartbeat actor on a real tree: a hung or stalled orchestrator is killed and/or trading
halted, per ``[heartbeat] on_orchestrator_hang``; never during the tree's drain.

Hang timeouts are shortened here (1.5 s) to keep the tests quick; the precision against the
timeout is measured by ``benchmarks/hang_detection.py``, not asserted here.
"""

from __future__ import annotations

import os
import signal
import time

import msgspec

from actors._runtime.store import read_snapshot
from actors.orchestrator.actor import LoopState
from tests.support.tree import alive, assert_gone, wait_stopped

HANG_S = 1.5
BLOCK = "tests.actors.heartbeat.strategies:BlockOnFlag"
MARGIN_S = 1.0  # generous: a loaded 2-core CI box; the benchmark measures the real figure


def _config(policy: str = '["kill"]', extra: str = "", heartbeat: str = "") -> str:
    return (
        f"[heartbeat]\nhang_timeout_s = {HANG_S}\non_orchestrator_hang = {policy}\n{heartbeat}"
        + extra
    )


def _journal(tree) -> str:
    return "".join(p.read_text() for p in sorted((tree.state_dir / "journal").glob("*.md")))


def _persisted_iterations(tree) -> int:
    snap = read_snapshot(tree.state_dir / "orchestrator.sqlite")
    return msgspec.msgpack.decode(snap["loop"], type=LoopState).iterations


def _orchestrator_iterations(tree) -> int:
    status = tree.status()
    return next(a for a in status.actors if a.name == "orchestrator").iterations or 0


def _wait_iterations_above(tree, floor: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while (it := _orchestrator_iterations(tree)) <= floor:
        assert time.monotonic() < deadline, f"orchestrator iterations stuck at {it} <= {floor}"
        time.sleep(0.05)
    return it


def test_sigstopped_orchestrator_is_killed_and_restarted_from_its_persisted_state(
    tree_factory,
) -> None:
    """SIGSTOP of the orchestrator: the heartbeat actor SIGKILLs it (a stopped process cannot
    run a SIGTERM handler) within hang_timeout + margin; the supervisor restarts it (restarts 1)
    and its loop resumes from the iterations it had persisted; kill-only leaves trading ACTIVE;
    the action is on the bus (journal) and in the log."""
    tree = tree_factory(_config('["kill"]'))
    tree.wait_started()
    _wait_iterations_above(tree, 3)
    pid = tree.child_pid("orchestrator")
    mark = tree.mark()
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    wait_stopped(pid)
    persisted = _persisted_iterations(tree)
    term = tree.wait_for("child_terminated", lambda ln: ln["child"] == "orchestrator",
                         after=mark, timeout=HANG_S + 10)
    elapsed = time.monotonic() - t0
    assert term["child_pid"] == pid
    assert (term["reason"], term["exit_status"]) == ("killed", -9)
    assert elapsed <= HANG_S + MARGIN_S, elapsed
    action = tree.wait_for("heartbeat_action", after=mark)
    assert (action["action"], action["target_pid"]) == ("sigkill", pid)
    detected = tree.wait_for("hang_detected", after=mark)
    assert detected["kind"] == "hang"
    assert detected["for_s"] >= HANG_S
    started = tree.wait_for("child_started", lambda ln: ln["child"] == "orchestrator",
                            after=mark)
    assert started["restarts"] == 1
    assert started["child_pid"] != pid
    assert started["restored"]["iterations"] == persisted
    _wait_iterations_above(tree, persisted)
    assert tree.status().trading_state == "ACTIVE"
    assert not [ln for ln in tree.events("heartbeat_action") if ln["action"] == "halt"]
    tree.signal(signal.SIGTERM)
    assert tree.wait_exit() == 0
    journal = _journal(tree)
    assert "| HangDetected |" in journal
    assert '"action":"sigkill"' in journal


def test_halt_policy_halts_trading_with_source_heartbeat_and_kills_nothing(tree_factory) -> None:
    """on_orchestrator_hang = ["halt"]: a hung orchestrator moves trading to HALTED with source
    heartbeat (status and halts store), and the process is left alone."""
    tree = tree_factory(_config('["halt"]'))
    tree.wait_started()
    assert tree.status().trading_state == "ACTIVE"
    pid = tree.child_pid("orchestrator")
    mark = tree.mark()
    os.kill(pid, signal.SIGSTOP)
    try:
        change = tree.wait_for("trading_state_changed", after=mark, timeout=HANG_S + 10)
        assert (change["state"], change["source"]) == ("HALTED", "heartbeat")
        assert f"pid {pid} hang" in change["reason"]
        status = tree.status()
        assert status.trading_state == "HALTED"
        orch = next(a for a in status.actors if a.name == "orchestrator")
        assert orch.pid == pid
        assert orch.restarts == 0
        assert alive(pid)
        actions = [ln["action"] for ln in tree.events("heartbeat_action")]
        assert actions == ["halt"]
    finally:
        os.kill(pid, signal.SIGCONT)
    tree.signal(signal.SIGTERM)
    assert tree.wait_exit() == 0
    assert '"action":"halt"' in _journal(tree)


def test_no_action_during_the_tree_drain(tree_factory) -> None:
    """SIGSTOP the orchestrator, then SIGTERM the tree: the supervisor kills it after its drain
    budget (longer than the hang timeout); the heartbeat actor, told by TreeStopping, does
    nothing: no HangDetected, no HeartbeatAction, no halt."""
    tree = tree_factory(_config('["kill", "halt"]',
                                extra="[children.orchestrator]\nshutdown_s = 3.0\n"))
    tree.wait_started()
    pid = tree.child_pid("orchestrator")
    os.kill(pid, signal.SIGSTOP)
    wait_stopped(pid)
    tree.signal(signal.SIGTERM)
    tree.wait_for("heartbeat_actions_off")
    assert tree.wait_exit() == 1  # not clean: the orchestrator missed its drain budget
    err = tree.wait_for("shutdown_error", lambda ln: ln["child"] == "orchestrator")
    assert err["budget_s"] == 3.0 > HANG_S
    assert tree.events("heartbeat_action") == []
    assert tree.events("hang_detected") == []
    assert tree.events("trading_state_changed") == []
    journal = _journal(tree)
    assert "| TreeStopping |" in journal
    assert "| HeartbeatAction |" not in journal
    assert "| HangDetected |" not in journal
    assert_gone(tree.logged_pids())


def test_strategy_blocked_in_on_bar_gets_sigterm_then_sigkill_after_the_grace(
    tree_factory, tmp_path
) -> None:
    """A strategy blocking its actor thread stops the beats too (a beat is a round trip through
    that thread): a hang. The process runs, so it gets SIGTERM first; its drain cannot run on
    the blocked thread, so SIGKILL follows after kill_grace_s; the restart runs on."""
    flag = tmp_path / "block"
    grace = 0.4
    tree = tree_factory(_config(
        '["kill"]', heartbeat=f"kill_grace_s = {grace}\n",
        extra=(f'[orchestrator]\nstrategy = "{BLOCK}"\n'
               f'[orchestrator.strategy_params]\nflag = "{flag}"\n'),
    ))
    tree.wait_started()
    pid = tree.child_pid("orchestrator")
    mark = tree.mark()
    flag.write_text("block")
    term = tree.wait_for("child_terminated", lambda ln: ln["child"] == "orchestrator",
                         after=mark, timeout=HANG_S + 10)
    assert (term["child_pid"], term["reason"], term["exit_status"]) == (pid, "killed", -9)
    assert not flag.exists()  # it really entered the blocking bar
    actions = [ln for ln in tree.events("heartbeat_action") if ln["target_pid"] == pid]
    assert [a["action"] for a in actions] == ["sigterm", "sigkill"]
    assert "still alive" in actions[1]["reason"]
    started = tree.wait_for("child_started", lambda ln: ln["child"] == "orchestrator",
                            after=mark)
    assert started["restarts"] == 1
    _wait_iterations_above(tree, int(started["restored"]["iterations"]))


def test_orchestrator_beating_without_progress_is_a_stall(tree_factory) -> None:
    """Can an orchestrator beat without advancing? Not while its loop runs: a tick and a beat
    share the actor thread. It can while it drains: the loop stops, the beats go on. A drain
    the supervisor did not order (a stray SIGTERM) that waits for acks execution cannot give
    (execution is stopped) never ends: the heartbeat actor reports a stall and kills it."""
    tree = tree_factory(_config(
        '["kill"]', heartbeat="stall_timeout_s = 1.5\nkill_grace_s = 0.3\n",
        extra=('[orchestrator]\nstrategy = "actors.orchestrator.examples:EveryN"\n'
               "[orchestrator.strategy_params]\nevery = 1\n"
               # A stall must outlast a supervisor-ordered drain (config rule); this drain is a
               # stray SIGTERM to the orchestrator alone, which that budget does not bound.
               "[children.orchestrator]\nshutdown_s = 1.0\n"),
    ))
    tree.wait_started()
    orch, execution = tree.child_pid("orchestrator"), tree.child_pid("execution")
    os.kill(execution, signal.SIGSTOP)
    try:
        wait_stopped(execution)
        # Intents sent after this point stay unacknowledged in the orchestrator's outbox.
        _wait_iterations_above(tree, _orchestrator_iterations(tree) + 3)
        mark = tree.mark()
        os.kill(orch, signal.SIGTERM)
        detected = tree.wait_for("hang_detected", after=mark, timeout=15)
        assert (detected["kind"], detected["target_pid"]) == ("stall", orch)
        assert detected["for_s"] >= 1.5
        term = tree.wait_for("child_terminated", lambda ln: ln["child"] == "orchestrator",
                             after=mark)
        assert (term["child_pid"], term["reason"]) == (orch, "killed")
        actions = [ln["action"] for ln in tree.events("heartbeat_action")
                   if ln["target_pid"] == orch]
        assert actions == ["sigterm", "sigkill"]
    finally:
        os.kill(execution, signal.SIGCONT)
    started = tree.wait_for("child_started", lambda ln: ln["child"] == "orchestrator",
                            after=mark)
    assert started["restarts"] == 1
    _wait_iterations_above(tree, int(started["restored"]["iterations"]))


def test_a_frozen_supervisor_silences_every_beat_and_no_one_is_blamed(tree_factory) -> None:
    """SIGSTOP of the supervisor (the bus hub) for twice the hang timeout: every beat stops,
    the orchestrator's too. The heartbeat actor sees that no other process is heard either
    (deaf), judges nothing, and after the hub resumes gives the orchestrator a fresh grace:
    no action, the same orchestrator process, trading still ACTIVE."""
    tree = tree_factory(_config('["kill", "halt"]'))
    tree.wait_started()
    orch = tree.child_pid("orchestrator")
    mark = tree.mark()
    tree.signal(signal.SIGSTOP)
    try:
        wait_stopped(tree.pid)
        tree.wait_for("heartbeat_deaf", after=mark, timeout=HANG_S + 5)
        time.sleep(2 * HANG_S)  # long past the orchestrator's hang timeout
    finally:
        tree.signal(signal.SIGCONT)
    tree.wait_for("heartbeat_hearing_again", after=mark, timeout=10)
    _wait_iterations_above(tree, _orchestrator_iterations(tree))
    time.sleep(HANG_S)  # a wrongly kept deadline would fire by now
    assert tree.events("heartbeat_action") == []
    assert tree.events("hang_detected") == []
    status = tree.status()
    assert status.trading_state == "ACTIVE"
    assert next(a for a in status.actors if a.name == "orchestrator").pid == orch
    assert alive(orch)
