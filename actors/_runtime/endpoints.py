"""Names and checks of the ipc endpoints under the run directory (DESIGN.md section 2)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
MAX_IPC_PATH = 107


class EndpointError(Exception):
    """An endpoint cannot be used (path too long, directory unsafe)."""


def ipc(run_dir: Path, name: str) -> str:
    """The ``ipc://`` endpoint for socket ``name`` under ``run_dir``; refuses over-long paths."""
    path = str(run_dir / name)
    if len(path.encode()) > MAX_IPC_PATH:
        raise EndpointError(
            f"ipc socket path {path!r} is {len(path.encode())} bytes; unix sockets allow at most "
            f"{MAX_IPC_PATH}: choose a shorter --run-dir"
        )
    return f"ipc://{path}"


def bus_in(run_dir: Path) -> str:
    """Where every process pushes the events it publishes (the supervisor's hub pulls)."""
    return ipc(run_dir, "bus-in")


def bus_out(run_dir: Path) -> str:
    """Where the hub republishes every event, with a bus sequence number."""
    return ipc(run_dir, "bus-out")


def control(run_dir: Path) -> str:
    """Supervisor <-> child control channel (Ready, Drain, Drained)."""
    return ipc(run_dir, "control")


def admin(run_dir: Path) -> str:
    """Operator admin socket (status, halt, resume)."""
    return ipc(run_dir, "admin")


def commands(run_dir: Path, actor: str) -> str:
    """Acknowledged commands addressed to ``actor``."""
    return ipc(run_dir, f"cmd-{actor}")


def prepare_run_dir(run_dir: Path) -> Path:
    """Create ``run_dir`` with mode 0700 (sockets inherit its protection); refuse a shared one."""
    # Validate the longest name first, so a deep directory fails with a clear error, untouched.
    commands(run_dir, "orchestrator")
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = run_dir.stat()
    if st.st_uid != os.geteuid():
        raise EndpointError(f"run directory {run_dir} is owned by uid {st.st_uid}, not by us")
    if stat.S_IMODE(st.st_mode) & 0o077:
        run_dir.chmod(0o700)
    return run_dir
