"""Errors of the supervisor package, named for what happened."""

from __future__ import annotations


class SupervisorError(Exception):
    """Base of the supervisor's errors."""


class ConfigError(SupervisorError):
    """A configuration file is unreadable, has an unknown key or a bad value."""


class PathTooLong(SupervisorError):
    """An ipc endpoint path exceeds the unix-socket limit (107 bytes)."""


class ChildStartTimeout(SupervisorError):
    """A child did not send ``Ready`` within its start timeout."""


class ChildStartError(SupervisorError):
    """A child died before it sent ``Ready``."""


class ChildStartUnwritable(ChildStartError):
    """A child died before ``Ready`` because its state could not be written (not its fault:
    the tree waits for the disk instead of counting it as a crash)."""


class RestartIntensityExceeded(SupervisorError):
    """More restarts than ``intensity`` within ``period`` seconds."""


class ShutdownError(SupervisorError):
    """A child did not drain within its shutdown budget and was killed."""


class InvalidTransition(SupervisorError):
    """A trading-state transition the table does not allow."""


class HaltsStoreTampered(SupervisorError):
    """The halts store failed verification (hash chain or SQLite integrity)."""


class AdminUnavailable(SupervisorError):
    """The supervisor did not answer on the admin socket in time."""
