"""The four drills: crash a child, hang a child, kill the supervisor, pull the kill switch.

Each acts on a running tree from outside (signals, the admin socket), times how long the tree
took to notice and to recover, compares the state before and after, and runs the invariants
(``checks.py``). None of them leaves a process stopped: a SIGSTOP is always followed by a
SIGCONT unless the process died.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from actors.heartbeat.config import HangAction
from supervisor.admin_messages import CommandReply, HaltRequest, ResumeRequest, StatusReply
from supervisor.client import request
from supervisor.config import Config
from supervisor.drill import checks, observe
from supervisor.drill.invariants import breaker_snapshot, no_orphans
from supervisor.drill.report import Comparison, DrillReport, StateView
from supervisor.errors import AdminUnavailable

OPEN_ORDERS = ("PENDING_SUBMIT", "SUBMITTED")
"""Order statuses still in flight."""


@dataclass(frozen=True)
class Drill:
    """Where the tree is and how long to wait for it."""

    run_dir: Path
    state_dir: Path
    config: Config
    timeout_s: float = 30.0
    resume: bool = True
    """Resume trading when the drill halted it (leave the tree as it was found)."""


def _who() -> str:
    return f"drill:{getpass.getuser()}@{socket.gethostname()}"


def _begin(d: Drill, scenario: str, target: str) -> tuple[DrillReport, StatusReply | None]:
    report = DrillReport(scenario=scenario, target=target)
    reply = observe.status(d.run_dir, timeout_s=2.0)
    if reply is None:
        report.failure = f"no supervisor answered at {d.run_dir}/admin: is the tree running?"
    else:
        report.state_before = observe.view(reply)
    return report, reply


def _compare(field: str, before: object, after: object, expected: str, *, why: str = "",
             holds: bool | None = None) -> Comparison:
    if holds is None:
        holds = {"equal": before == after, "different": before != after}.get(expected, True)
    return Comparison(field=field, expected=expected, before=str(before), after=str(after),
                      holds=holds, why=why)


def _order_total(v: StateView) -> int:
    return sum(v.orders.values())


def _common(report: DrillReport, before: StateView, after: StateView, *, state_expected: str,
            state_why: str) -> None:
    """Comparisons every drill makes: the trading state, orders known, positions."""
    report.comparisons.append(_compare(
        "trading_state", before.trading_state, after.trading_state, state_expected, why=state_why,
        holds=(after.trading_state == (before.trading_state if state_expected == "equal"
                                       else state_expected))))
    report.comparisons.append(_compare(
        "orders known to execution", _order_total(before), _order_total(after), "not less",
        why="orders are never forgotten across a restart",
        holds=_order_total(after) >= _order_total(before)))
    report.comparisons.append(_compare(
        "positions", before.positions, after.positions, "informational",
        why="the strategy trades on during the drill; fills_reflected_in_positions checks them"))


def _wait_serving(d: Drill, name: str, old_pid: int | None) -> StatusReply | None:
    def probe() -> StatusReply | None:
        reply = observe.status(d.run_dir, timeout_s=0.5)
        ok = reply is not None and observe.serving(observe.actor(reply, name), not_pid=old_pid)
        return reply if ok else None

    return observe.poll(probe, d.timeout_s)


def _wait_all_serving(d: Drill, not_supervisor: int, orders: bool) -> StatusReply | None:
    """A new supervisor with every child beating (and, if ``orders``, execution's first
    snapshot received: a new supervisor knows no orders until execution publishes them)."""
    def probe() -> StatusReply | None:
        reply = observe.status(d.run_dir, timeout_s=0.5)
        if reply is None or reply.supervisor.pid == not_supervisor or (orders and not reply.orders):
            return None
        return reply if all(observe.serving(a) for a in reply.actors) else None

    return observe.poll(probe, d.timeout_s)


def _finish(d: Drill, report: DrillReport, breaker_before: dict[str, float], gone: list[int],
            *, quiescent: bool = False) -> DrillReport:
    checks.run(report, d.state_dir, breaker_before=breaker_before, gone=gone,
               quiescent=quiescent)
    return report.conclude()


def _begin_child(d: Drill, scenario: str, name: str
                 ) -> tuple[DrillReport, StatusReply | None, int | None]:
    """Like ``_begin``, plus the pid of child ``name`` (None, with ``failure`` set, if it does
    not run)."""
    report, reply = _begin(d, scenario, name)
    if reply is None:
        return report, None, None
    a = observe.actor(reply, name)
    if a is None:
        report.failure = (f"no child named {name!r}; children: "
                          f"{', '.join(x.name for x in reply.actors)}")
    elif a.pid is None or not a.alive:
        report.failure = f"{name} is not running (pid {a.pid})"
    return report, reply, None if report.failure or a is None else a.pid


def _replaced(d: Drill, report: DrillReport, name: str, pid: int, t0: float
              ) -> StatusReply | None:
    """Wait until ``name`` runs again under another pid and beats; record the recovery time
    (or the failure)."""
    after = _wait_serving(d, name, pid)
    if after is None:
        report.failure = f"{name} was not replaced within {d.timeout_s} s"
    else:
        report.recovery_ms = observe.since_ms(t0)
    return after


def _sibling_pids(report: DrillReport, reply: StatusReply, before: StateView,
                  after: StateView, target: str) -> None:
    one_for_one = reply.supervisor.strategy == "one_for_one"
    for name, pid in before.pids.items():
        if name == target:
            report.comparisons.append(_compare(f"pid of {name}", pid, after.pids.get(name),
                                               "different", why="the drill's victim is replaced"))
        else:
            report.comparisons.append(_compare(
                f"pid of {name}", pid, after.pids.get(name),
                "equal" if one_for_one else "informational",
                why=f"strategy {reply.supervisor.strategy}"))


def crash(d: Drill, name: str) -> DrillReport:
    """SIGKILL child ``name``; detected when status no longer shows its pid, recovered when the
    replacement is serving."""
    report, reply, pid = _begin_child(d, "crash", name)
    if reply is None or pid is None or report.state_before is None:
        return report.conclude()
    breaker_before = breaker_snapshot(d.state_dir)
    report.detection = "status no longer shows the killed pid (the supervisor saw the death)"
    report.recovery = "the replacement is alive and beating (after its Ready)"
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    def gone() -> bool:
        r = observe.status(d.run_dir, timeout_s=0.5)
        a = None if r is None else observe.actor(r, name)
        return a is not None and (a.pid != pid or not a.alive)

    if observe.poll(gone, d.timeout_s):
        report.detection_ms = observe.since_ms(t0)
    after = _replaced(d, report, name, pid, t0)
    if after is None:
        return report.conclude()
    report.state_after = observe.view(after)
    _sibling_pids(report, after, report.state_before, report.state_after, name)
    _common(report, report.state_before, report.state_after, state_expected="equal",
            state_why="a crash changes no trading state")
    return _finish(d, report, breaker_before, [pid])


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def hang(d: Drill, name: str) -> DrillReport:
    """SIGSTOP child ``name``; detected when the heartbeat actor kills it, recovered when the
    replacement is serving. SIGCONT in the end if it was not killed."""
    report, reply, pid = _begin_child(d, "hang", name)
    if reply is None or pid is None or report.state_before is None:
        return report.conclude()
    hb = d.config.heartbeat
    watched = name == hb.orchestrator
    halts = watched and HangAction.HALT in hb.on_orchestrator_hang
    if not watched:
        report.notes.append(f"the heartbeat actor kills only a hung {hb.orchestrator!r}; "
                            f"{name!r} will be reported missing, not replaced")
    breaker_before = breaker_snapshot(d.state_dir)
    report.detection = "the hung process was killed (by the heartbeat actor)"
    report.recovery = "the replacement is alive and beating"
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        if observe.poll(lambda: _dead(pid), d.timeout_s):
            report.detection_ms = observe.since_ms(t0)
    finally:
        if not _dead(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    if report.detection_ms is None:
        report.failure = (f"{name} (pid {pid}) was not killed within {d.timeout_s} s of its "
                          f"SIGSTOP; SIGCONT sent")
        return report.conclude()
    after = _replaced(d, report, name, pid, t0)
    if after is None:
        return report.conclude()
    before = report.state_before
    resumed = False
    if halts:
        report.notes.append(f"[heartbeat] on_orchestrator_hang = "
                            f"{[a.value for a in hb.on_orchestrator_hang]}: the hang halts trading")
        halted = observe.poll(lambda: _state_is(d, "HALTED"), d.timeout_s)
        mid = observe.view(halted) if halted is not None else observe.view(after)
        report.comparisons.append(_compare(
            "trading_state after the hang", before.trading_state, mid.trading_state, "HALTED",
            why="the hang policy halts", holds=mid.trading_state == "HALTED"))
        resumed = _resume_if_halted_by_drill(d, report, before)
    final = observe.status(d.run_dir) or after
    report.state_after = observe.view(final)
    _sibling_pids(report, final, before, report.state_after, name)
    if not halts:
        expected, why = "equal", "the hang policy does not halt"
    else:
        expected = "equal" if resumed else "HALTED"
        why = "halted by the hang policy, " + ("resumed by the drill" if resumed else "left so")
    _common(report, before, report.state_after, state_expected=expected, state_why=why)
    return _finish(d, report, breaker_before, [pid])


def _state_is(d: Drill, state: str) -> StatusReply | None:
    reply = observe.status(d.run_dir, timeout_s=0.5)
    return reply if reply is not None and reply.trading_state == state else None


def _acked(d: Drill, state: str, seq: int) -> Callable[[], StatusReply | None]:
    """A probe: status shows ``state`` and every running child acknowledged ``seq``."""
    def probe() -> StatusReply | None:
        reply = _state_is(d, state)
        if reply is None:
            return None
        running = [a for a in reply.actors if a.alive]
        return reply if all((a.trading_state_seq or 0) >= seq for a in running) else None

    return probe


def _resume_if_halted_by_drill(d: Drill, report: DrillReport, before: StateView) -> bool:
    """Resume (to ACTIVE) if the tree was ACTIVE before the drill and --resume; True if done."""
    if not d.resume:
        report.notes.append("left HALTED (--no-resume): an operator resumes")
        return False
    if before.trading_state != "ACTIVE":
        report.notes.append(f"the tree was {before.trading_state} before the drill: left HALTED "
                            f"(a resume would make it ACTIVE, not as found)")
        return False
    try:
        reply = request(d.run_dir, ResumeRequest(reason="drill over: resume", who=_who()),
                        timeout_s=2.0)
    except AdminUnavailable as exc:
        report.failure = f"resume after the drill failed: {exc}"
        return False
    if not isinstance(reply, CommandReply):
        report.failure = f"resume after the drill refused: {getattr(reply, 'error', reply)}"
        return False
    if observe.poll(_acked(d, "ACTIVE", reply.seq), d.timeout_s) is None:
        report.failure = f"ACTIVE not acknowledged by every actor within {d.timeout_s} s"
        return False
    report.notes.append(f"resumed by the drill (halts seq {reply.seq}): the tree is left as found")
    return True


def kill_supervisor(d: Drill) -> DrillReport:
    """SIGKILL the supervisor; its children must die with it, and whatever runs it (systemd)
    must start a new one: recovered when a new supervisor answers with every child serving."""
    report, reply = _begin(d, "kill-supervisor", "supervisor")
    if reply is None or report.state_before is None:
        return report.conclude()
    before = report.state_before
    old = [before.supervisor_pid] + [p for p in before.pids.values() if p is not None]
    breaker_before = breaker_snapshot(d.state_dir)
    report.detection = "every child of the killed supervisor is gone (parent-death signal)"
    report.recovery = ("a new supervisor answers status with every child beating (it must be "
                       "restarted by whatever runs it: systemd's Restart=on-failure)")
    t0 = time.monotonic()
    os.kill(before.supervisor_pid, signal.SIGKILL)
    if observe.poll(lambda: all(_dead(p) for p in old), d.timeout_s):
        report.detection_ms = observe.since_ms(t0)
    after = _wait_all_serving(d, before.supervisor_pid, orders=bool(before.orders))
    if after is None:
        report.failure = (f"no new supervisor answered within {d.timeout_s} s of the kill: "
                          f"nothing restarted `quantfund up` (under systemd, Restart=on-failure "
                          f"does)")
        report.invariants_checked.append("no_orphans")
        report.violations += no_orphans(old)
        return report.conclude()
    report.recovery_ms = observe.since_ms(t0)
    report.state_after = observe.view(after)
    report.comparisons.append(_compare("supervisor pid", before.supervisor_pid,
                                       report.state_after.supervisor_pid, "different"))
    _common(report, before, report.state_after, state_expected="equal",
            state_why="halts are sticky: a restarted tree comes back in its state")
    return _finish(d, report, breaker_before, old)


def kill_switch(d: Drill) -> DrillReport:
    """Halt through the admin socket; detected when the supervisor answers (HALTED persisted and
    published), recovered when every running child acknowledged it. Open orders settle, the
    fills are checked against positions while quiescent, then (by default) trading resumes."""
    report, reply = _begin(d, "kill-switch", "trading state")
    if reply is None or report.state_before is None:
        return report.conclude()
    before = report.state_before
    if before.trading_state == "HALTED":
        report.failure = "the tree is already HALTED: the kill switch cannot be exercised"
        return report.conclude()
    breaker_before = breaker_snapshot(d.state_dir)
    report.detection = "the supervisor answered the halt (HALTED written to the store, published)"
    report.recovery = "HALTED acknowledged by every running child"
    t0 = time.monotonic()
    try:
        answer = request(d.run_dir, HaltRequest(reason="drill: kill switch", who=_who()),
                         timeout_s=2.0)
    except AdminUnavailable as exc:
        report.failure = f"halt not answered: {exc}"
        return report.conclude()
    if not isinstance(answer, CommandReply) or answer.state != "HALTED":
        report.failure = f"halt refused: {getattr(answer, 'error', answer)}"
        return report.conclude()
    report.detection_ms = observe.since_ms(t0)
    if observe.poll(_acked(d, "HALTED", answer.seq), d.timeout_s) is None:
        report.failure = f"HALTED not acknowledged by every child within {d.timeout_s} s"
        return report.conclude()
    report.recovery_ms = observe.since_ms(t0)

    def settled() -> StatusReply | None:
        r = _state_is(d, "HALTED")
        return r if r is not None and not any(r.orders.get(s) for s in OPEN_ORDERS) else None

    quiet = observe.poll(settled, d.timeout_s) is not None
    if not quiet:
        report.notes.append("open orders did not settle while HALTED: fills not compared")
    halted_view = observe.view(_state_is(d, "HALTED") or reply)
    checks.run(report, d.state_dir, breaker_before=breaker_before, gone=[], quiescent=quiet)
    resumed = _resume_if_halted_by_drill(d, report, before)
    final = observe.status(d.run_dir)
    report.state_after = observe.view(final) if final is not None else halted_view
    report.comparisons.append(_compare("trading_state while halted", before.trading_state,
                                       halted_view.trading_state, "HALTED",
                                       holds=halted_view.trading_state == "HALTED"))
    _common(report, before, report.state_after,
            state_expected="equal" if resumed else "HALTED",
            state_why="resumed by the drill" if resumed else "left HALTED")
    return report.conclude()
