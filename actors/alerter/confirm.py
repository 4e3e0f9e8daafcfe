"""The second, explicit step of a Telegram command that loosens trading (``/resume``, and
``/reduce`` out of HALTED or PAUSED): a code the same user sends back in time.

Pure: the caller passes the clock and the code. ``ask`` records a pending command for a user
(replacing any earlier one of theirs); ``confirm`` consumes it when the same user sends the right
code in the same chat before it expires. A wrong code cancels the pending resume, so a code cannot
be guessed by trying; an expired one is forgotten. Nothing is persisted: a restarted alerter has
no pending resume, and the operator asks again.

=====================  ===============================  ======================================
pending for the user   ``confirm(code, chat, now)``      result
=====================  ===============================  ======================================
none                   any                              refused: nothing waits
yes, expired           any                              refused: expired (forgotten)
yes                    another chat                     refused: confirm where you asked (kept)
yes                    wrong code                       refused: wrong code (cancelled)
yes                    right code, in time              the pending resume (consumed)
=====================  ===============================  ======================================
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_S = 60.0
"""How long a ``/resume`` waits for its ``/confirm``."""


@dataclass(frozen=True)
class Pending:
    """A ``/resume`` waiting for its confirmation."""

    code: str
    """What the user must send back (``/confirm <code>``)."""
    chat_id: int
    """Chat it was asked in."""
    reason: str
    """The command's reason."""
    expires_at: float
    """When it lapses (the caller's clock)."""
    target: str = "resume"
    """The command to carry out once confirmed (``resume``, ``reduce``)."""


@dataclass(frozen=True)
class NotConfirmed:
    """Why a ``/confirm`` did not resume."""

    reply: str
    """What the bot answers."""


class Confirmations:
    """Pending resumes by user id."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        """No resume pending; each waits ``window_s`` seconds."""
        self.window_s = window_s
        self._pending: dict[int, Pending] = {}

    def ask(self, user_id: int, chat_id: int, reason: str, code: str, now: float,
            *, target: str = "resume") -> Pending:
        """Record ``target`` waiting for ``code`` (an earlier one of this user's is replaced)."""
        self._expire(now)
        pending = Pending(code, chat_id, reason, now + self.window_s, target)
        self._pending[user_id] = pending
        return pending

    def confirm(self, user_id: int, chat_id: int, code: str, now: float) -> Pending | NotConfirmed:
        """The resume to carry out, or why not (see the module's table)."""
        pending = self._pending.get(user_id)
        if pending is None:
            return NotConfirmed("Refused: no command of yours is waiting for confirmation; "
                                "send /resume <reason> first.")
        if now >= pending.expires_at:
            del self._pending[user_id]
            return NotConfirmed(f"Refused: the code expired ({self.window_s:.0f} s); send "
                                f"/{pending.target} <reason> again. Nothing changed.")
        if chat_id != pending.chat_id:
            return NotConfirmed(f"Refused: confirm in the chat where you sent /{pending.target}.")
        if code.strip() != pending.code:
            del self._pending[user_id]
            return NotConfirmed(f"Refused: wrong code; the /{pending.target} is cancelled. "
                                f"Send /{pending.target} <reason> again. Nothing changed.")
        del self._pending[user_id]
        return pending

    def waiting(self, now: float) -> int:
        """How many resumes wait now."""
        self._expire(now)
        return len(self._pending)

    def _expire(self, now: float) -> None:
        for user in [u for u, p in self._pending.items() if now >= p.expires_at]:
            del self._pending[user]
