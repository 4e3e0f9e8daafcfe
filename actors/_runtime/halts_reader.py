"""Layer 3 of the kill switch: the halts store's current state, read cheaply by any actor.

The supervisor owns and writes the store (``<state_dir>/halts.sqlite``). An actor keeps a
read-only connection and re-reads the state only when ``PRAGMA data_version`` says another
connection committed, so the check before each broker submission costs one pragma. A store that
cannot be read reads as HALTED: a halt written there stops trading even if every socket is
broken, and a broken store never lets trading through.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actors._runtime.store import connect_readonly
from actors._runtime.trading import TradingState

HALTS_FILE = "halts.sqlite"


class HaltsReader:
    """Read-only view of the halts store."""

    def __init__(self, state_dir: Path) -> None:
        """Point at ``<state_dir>/halts.sqlite`` (opened lazily)."""
        self.path = state_dir / HALTS_FILE
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._state = TradingState.HALTED
        self._why = "not read yet"

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.exists():
                raise sqlite3.OperationalError(f"{self.path} does not exist")
            self._conn = connect_readonly(self.path, check_same_thread=False)
        return self._conn

    def state(self) -> tuple[TradingState, str]:
        """(state, why): the store's current state; HALTED with the reason when unreadable."""
        try:
            conn = self._connect()
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            if version != self._version:
                row = conn.execute(
                    "SELECT state FROM halts WHERE state IS NOT NULL ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                self._state = TradingState.ACTIVE if row is None else TradingState(row[0])
                self._why = "halts store"
                self._version = version
        except (sqlite3.Error, ValueError) as exc:
            self.close()
            return TradingState.HALTED, f"halts store unreadable: {exc}"
        return self._state, self._why

    def last_change(self) -> tuple[TradingState, str, float] | None:
        """(state, source, at) of the last transition row; None when there is none or the
        store cannot be read (``state`` says HALTED then)."""
        try:
            row = self._connect().execute(
                "SELECT state, source, at FROM halts WHERE state IS NOT NULL "
                "ORDER BY seq DESC LIMIT 1").fetchone()
        except sqlite3.Error:
            self.close()
            return None
        return None if row is None else (TradingState(row[0]), str(row[1]), float(row[2]))

    def close(self) -> None:
        """Drop the connection (the next ``state`` reconnects)."""
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._version = None
