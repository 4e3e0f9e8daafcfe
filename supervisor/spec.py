"""Child specs and supervisor flags, in Erlang/OTP's words and with its semantics."""

from __future__ import annotations

import enum
from typing import Any

import msgspec


class Restart(enum.Enum):
    """When a terminated child is restarted (OTP ``restart``)."""

    PERMANENT = "permanent"
    """Always."""
    TRANSIENT = "transient"
    """Only after an abnormal exit (not ``normal`` or ``shutdown``)."""
    TEMPORARY = "temporary"
    """Never."""


class Strategy(enum.Enum):
    """Which children are restarted when one terminates (OTP ``strategy``)."""

    ONE_FOR_ONE = "one_for_one"
    """Only the one that terminated."""
    ONE_FOR_ALL = "one_for_all"
    """All of them: the others are stopped, then all started again."""
    REST_FOR_ONE = "rest_for_one"
    """It and every child started after it."""


class ExitReason(enum.Enum):
    """Why a child process ended, mapped from its wait status in one place (``exit_reason``)."""

    NORMAL = "normal"
    """Exited 0 without being asked to stop."""
    SHUTDOWN = "shutdown"
    """Stopped because the supervisor asked it to (drain, then exit 0)."""
    KILLED = "killed"
    """Killed by a signal (SIGKILL, SIGSEGV, ...)."""
    CRASHED = "crashed"
    """Exited with a non-zero status."""
    UNWRITABLE = "state_unwritable"
    """Exited because its state could not be written (``ExitCode.STORE_UNWRITABLE``): not a
    crash of its own; restarted once the state directory takes writes, outside the intensity."""

    @property
    def abnormal(self) -> bool:
        """OTP: anything but normal and shutdown is abnormal."""
        return self not in (ExitReason.NORMAL, ExitReason.SHUTDOWN)


def exit_reason(status: int, *, stop_requested: bool) -> tuple[ExitReason, int]:
    """Map a raw ``waitpid`` status to (reason, exit code or negative signal number)."""
    import os

    if os.WIFSIGNALED(status):
        return ExitReason.KILLED, -os.WTERMSIG(status)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return (ExitReason.SHUTDOWN if stop_requested else ExitReason.NORMAL), 0
    from actors._runtime.spawn import ExitCode

    if code == ExitCode.STORE_UNWRITABLE:
        return ExitReason.UNWRITABLE, code
    return ExitReason.CRASHED, code


class ChildSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How one child is started, restarted and stopped."""

    actor: str
    """Actor class as ``module:Class``."""
    restart: Restart = Restart.PERMANENT
    """When to restart it."""
    shutdown_s: float = 5.0
    """Drain budget in seconds before SIGKILL; 0 means ``brutal_kill`` (SIGKILL at once)."""
    start_timeout_s: float = 10.0
    """Longest wait for ``Ready`` before the start counts as failed."""
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    """Config for actors without a typed section of their own (plugins, test actors)."""


class SupervisorFlags(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The supervisor's own behaviour."""

    children: list[str] = msgspec.field(
        default_factory=lambda: [
            "journal",
            "alerter",
            "heartbeat",
            "breaker",
            "execution",
            "orchestrator",
        ]
    )
    """Names of the children in start order (each needs a ``[children.NAME]`` spec)."""
    strategy: Strategy = Strategy.ONE_FOR_ONE
    """Restart strategy."""
    intensity: int = 10
    """Restarts allowed within ``period_s``; one more halts trading and stops the tree."""
    period_s: float = 60.0
    """Window of the restart intensity, in seconds."""
    backoff_initial_s: float = 0.05
    """Delay before the second quick restart of the same child; doubles each time after."""
    backoff_max_s: float = 2.0
    """Upper bound of the restart delay."""
    backoff_reset_s: float = 10.0
    """A child up this long counts as healthy: its next restart is immediate again."""
