"""Signals to a watched process, sent only while it is still the process that beat (psutil).

A pid alone is not an identity: once the supervisor has reaped a dead child its pid can be
reused. The identity is taken when a pid's first beat arrives (pid, create time, command line,
parent) and checked again right before every signal.
"""

from __future__ import annotations

import enum
import signal
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Identity:
    """What makes a process the one that beat."""

    pid: int
    create_time: float
    cmdline: tuple[str, ...]
    ppid: int


class Outcome(enum.Enum):
    """What came of a signal."""

    SENT = "sent"
    GONE = "gone"
    """The process no longer exists (or is a zombie): nothing to do."""
    NOT_SAME = "not_same"
    """The pid now names another process: it was left alone."""


_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess)


def identify(pid: int) -> Identity | None:
    """The identity of ``pid`` now, or None if it is gone or cannot be read."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return Identity(pid, proc.create_time(), tuple(proc.cmdline()), proc.ppid())
    except (*_GONE, psutil.AccessDenied):
        return None


def _same(identity: Identity) -> tuple[Outcome, psutil.Process | None]:
    now = identify(identity.pid)
    if now is None:
        return Outcome.GONE, None
    if now != identity:
        return Outcome.NOT_SAME, None
    try:
        return Outcome.SENT, psutil.Process(identity.pid)
    except _GONE:
        return Outcome.GONE, None


def is_stopped(identity: Identity) -> bool:
    """True if the process is the same one and stopped (SIGSTOP, SIGTSTP, a tracer)."""
    outcome, proc = _same(identity)
    if proc is None or outcome is not Outcome.SENT:
        return False
    try:
        return proc.status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
    except _GONE:
        return False


def send(identity: Identity, sig: signal.Signals) -> Outcome:
    """Send ``sig`` if the pid still names the process that beat."""
    outcome, proc = _same(identity)
    if proc is None:
        return outcome
    try:
        proc.send_signal(sig)  # psutil checks the create time once more before sending
    except _GONE:
        return Outcome.GONE
    return Outcome.SENT
