"""The last halts-store row the journal saw announced: what a start checks the halts store by.

Every ``TradingStateChanged`` on the bus names the halts row that recorded it (seq and hash).
The journal keeps the last one in its own state file; at the next start the supervisor
requires the halts store to hold that very row. A halts store cut short, or restored from an
older copy, lacks it (or holds another row at that seq): the tree then stays ``HALTED``.
"""

from __future__ import annotations

import msgspec

HALTS_SEEN_KEY = "halts_seen"
"""Key of ``HaltsSeen`` in the journal's state file."""


class HaltsSeen(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The last trading-state change the journal recorded, by its halts-store row."""

    seq: int
    """The row's seq."""
    state: str
    """The trading state the row moved to."""
    row_hash: str
    """The row's hash."""
    day: str
    """The journal day the change was recorded in."""
