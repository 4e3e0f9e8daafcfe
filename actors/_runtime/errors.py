"""Errors of the actor runtime, named for what happened."""

from __future__ import annotations

from pathlib import Path


class StateUnreadable(Exception):
    """An actor's persisted state cannot be trusted: the actor refuses to start from it.

    Raised by the runtime for a state file SQLite cannot read or a row that does not decode,
    and by an actor's ``restore`` for state that contradicts what it can see (execution with no
    book while its venue holds positions). The runtime logs it as one ``state_unreadable`` line
    naming the file, the problem and the remedy, never as a traceback.
    """

    def __init__(self, path: Path | str, problem: str, remedy: str) -> None:
        """Name the file, what is wrong with it, and what an operator can do."""
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
        self.remedy = remedy
