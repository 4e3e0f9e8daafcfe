"""Config of the journal actor."""

from __future__ import annotations

import msgspec

from actors.journal.writer import FsyncPolicy


class JournalConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What is journaled and how durably."""

    fsync: FsyncPolicy = FsyncPolicy.BATCH
    """When entries are forced to disk: ``batch`` (the default) is a group commit, one fsync at
    the end of every batch of bus messages the journal handled, so a burst costs one fsync,
    not one per entry; ``every_entry``; or ``none`` (a process crash still loses nothing)."""
    exclude: list[str] = msgspec.field(
        default_factory=lambda: ["Heartbeat", "SyncPing", "PriceTick", "ExecutionSnapshot",
                                 "ExecutionStatus", "BreakerStatus"]
    )
    """Event types not journaled: liveness pings, raw market data and execution's and the
    breaker's periodic snapshots and status reports (derived from the journaled orders, fills
    and trips) are not audit facts
    (the heartbeat actor's verdict changes and every order and fill are)."""
