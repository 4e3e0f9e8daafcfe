"""What the supervisor tells a new actor process, and how the process binds itself to its parent."""

from __future__ import annotations

import ctypes
import enum
import importlib
import os
import signal
import time
from typing import Annotated, Any, Literal

import msgspec

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


class ExitCode(enum.IntEnum):
    """Exit statuses an actor process uses; the supervisor maps them to exit reasons."""

    NORMAL = 0
    """Drained and stopped on request."""
    CRASHED = 1
    """A behaviour hook raised."""
    ORPHANED = 70
    """The supervisor was gone before the actor could bind to it."""
    START_FAILED = 71
    """State could not be loaded or sockets could not be set up."""
    STORE_UNWRITABLE = 72
    """A state file could not be written (disk full, read-only, permission): the write was
    rolled back and nothing it guarded was acknowledged; restarted once the disk takes writes."""


class RuntimeSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Process-runtime knobs shared by every actor."""

    heartbeat_interval_s: float = 0.5
    """Seconds between heartbeats."""
    command_retry_s: float = 0.5
    """Seconds before an unacknowledged command is sent again (same id)."""
    sqlite_synchronous: str = "FULL"
    """SQLite ``synchronous`` pragma for state files (FULL survives power loss better), unless
    ``sqlite_synchronous_by_actor`` names the actor."""
    sqlite_synchronous_by_actor: dict[str, Literal["OFF", "NORMAL", "FULL", "EXTRA"]] = (
        msgspec.field(default_factory=dict)
    )
    """Per actor: its state file's ``synchronous`` (docs/adr/0004: NORMAL survives any process
    crash; its WAL is fsynced within ~50 ms off the event loop, which bounds an OS crash's loss)."""
    sync_timeout_s: float = 5.0
    """Longest wait for the bus subscription handshake at start."""
    child_nice: Annotated[int, msgspec.Meta(ge=0, le=19)] = 0
    """Niceness every actor process adds to its own at start (0-19), so that the supervisor
    (the bus hub, the admin socket, the acks of a halt) runs first when the cores are busy;
    unless ``child_nice_by_actor`` names the actor."""
    child_nice_by_actor: dict[str, Annotated[int, msgspec.Meta(ge=0, le=19)]] = (
        msgspec.field(default_factory=dict)
    )
    """Per actor: the niceness it adds instead of ``child_nice``."""

    def nice_of(self, actor: str) -> int:
        """The niceness ``actor`` adds to its own at start."""
        return self.child_nice_by_actor.get(actor, self.child_nice)


class SpawnRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything a new actor process needs; sent by the supervisor to the zygote."""

    name: str
    """Child name (unique in the tree)."""
    actor: str
    """Actor class as ``module:Class``."""
    config: dict[str, Any]
    """The actor's config section (validated again against the class's ``config_type``)."""
    run_dir: str
    """Directory of the ipc endpoints."""
    state_dir: str
    """Directory of the state files."""
    supervisor_pid: int
    """Pid the actor must be re-parented to; it exits if that process is gone."""
    runtime: RuntimeSettings
    """Shared runtime knobs."""
    log_json: bool
    """JSON log lines (True) or console rendering."""
    generation: int = 0
    """How many times this child has been started before (0 = first start)."""


def import_actor(path: str) -> Any:
    """Import ``module:Class``; raise ``ValueError`` naming the path when it does not resolve."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"actor {path!r} is not of the form 'module:Class'")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"actor {path!r} cannot be imported: {exc}") from exc


def name_process(name: str) -> None:
    """Name this process ``qf-<name>`` (its ``comm``: what ``top``, ``ps -o comm`` and
    ``pgrep`` show, 15 bytes at most), so an operator can tell nine Python processes apart.

    Threads started afterwards inherit the name. Best effort: a failure changes nothing else.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_NAME, f"qf-{name}".encode()[:15], 0, 0, 0)


def bind_to_parent(supervisor_pid: int, *, wait_s: float = 1.0) -> None:
    """Die with the supervisor: wait to be re-parented to it, then set the parent-death signal.

    The zygote double-forks, so for a moment the parent is the exiting intermediate process; the
    kernel then hands us to the supervisor (a child subreaper). The parent-death signal is set
    only after that, and checked again afterwards, so an actor whose supervisor is already gone
    exits instead of trading on.
    """
    deadline = time.monotonic() + wait_s
    while os.getppid() != supervisor_pid:
        if time.monotonic() > deadline:
            os._exit(ExitCode.ORPHANED)
        time.sleep(0.0001)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        os._exit(ExitCode.START_FAILED)
    if os.getppid() != supervisor_pid:
        os._exit(ExitCode.ORPHANED)
