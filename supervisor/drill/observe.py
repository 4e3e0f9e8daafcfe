"""Watching a running tree from outside: status over the admin socket, polled until a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from supervisor.admin_messages import ActorStatus, StatusReply, StatusRequest
from supervisor.client import request
from supervisor.drill.report import StateView
from supervisor.errors import AdminUnavailable

T = TypeVar("T")

POLL_S = 0.01
"""Pace of polling: timings are accurate to about this (plus one status round trip)."""


def status(run_dir: Path, timeout_s: float = 1.0) -> StatusReply | None:
    """The supervisor's status, or None when it does not answer."""
    try:
        reply = request(run_dir, StatusRequest(), timeout_s=timeout_s)
    except AdminUnavailable:
        return None
    return reply if isinstance(reply, StatusReply) else None


def view(reply: StatusReply) -> StateView:
    """The parts of a status a drill compares."""
    return StateView(
        trading_state=reply.trading_state, trading_state_seq=reply.trading_state_seq,
        supervisor_pid=reply.supervisor.pid, pids={a.name: a.pid for a in reply.actors},
        positions=dict(reply.positions), orders=dict(reply.orders),
    )


def actor(reply: StatusReply, name: str) -> ActorStatus | None:
    """Child ``name`` in ``reply``."""
    return next((a for a in reply.actors if a.name == name), None)


def serving(a: ActorStatus | None, not_pid: int | None = None) -> bool:
    """Alive, beating, and not ``not_pid``: a process beats only once it sent Ready and serves
    (its first beat follows Ready at once), and the supervisor counts beats of the current pid
    only."""
    return (a is not None and a.alive and a.pid is not None and a.pid != not_pid
            and a.last_heartbeat_age_s is not None)


def poll(probe: Callable[[], T | None], timeout_s: float, pace: float = POLL_S) -> T | None:
    """Call ``probe`` until it returns something other than None (or False); None on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(pace)


def since_ms(t0: float) -> float:
    """Milliseconds since monotonic ``t0``."""
    return round((time.monotonic() - t0) * 1000, 1)
