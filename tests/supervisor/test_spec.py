"""Exit reasons from raw wait statuses, and OTP's normal/abnormal split."""

from __future__ import annotations

import os
import signal

from supervisor.spec import ExitReason, exit_reason


def _status_of(code: int | None, sig: int | None) -> int:
    pid = os.fork()
    if pid == 0:
        if sig is not None:
            os.kill(os.getpid(), sig)
        os._exit(code or 0)
    return os.waitpid(pid, 0)[1]


def test_exit_0_is_normal_or_shutdown_depending_on_who_asked() -> None:
    """A clean exit is `shutdown` when the supervisor asked for it, `normal` otherwise."""
    status = _status_of(0, None)
    assert exit_reason(status, stop_requested=False) == (ExitReason.NORMAL, 0)
    assert exit_reason(status, stop_requested=True) == (ExitReason.SHUTDOWN, 0)


def test_non_zero_exit_is_crashed_with_its_code() -> None:
    """Exit 3 is abnormal."""
    reason, code = exit_reason(_status_of(3, None), stop_requested=True)
    assert (reason, code) == (ExitReason.CRASHED, 3)
    assert reason.abnormal


def test_signal_death_is_killed_with_negative_signal_number() -> None:
    """SIGKILL gives (killed, -9)."""
    assert exit_reason(_status_of(None, signal.SIGKILL), stop_requested=False) == (
        ExitReason.KILLED, -9,
    )
    assert not ExitReason.NORMAL.abnormal
    assert not ExitReason.SHUTDOWN.abnormal
