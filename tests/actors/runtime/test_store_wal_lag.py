"""WAL fsync lag (``StateStore.wal_unsynced_s``): what the heartbeat reports to the metrics."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from actors._runtime.store import WAL_SYNC_INTERVAL_S, StateStore


def test_wal_fsync_lag_is_reported_until_the_syncer_has_run(tmp_path: Path) -> None:
    """A NORMAL store's oldest unsynced commit ages until the WAL syncer fsyncs it, then reads
    0; a FULL store (synced at each commit) always reads 0."""
    async def scenario() -> tuple[float, float, float]:
        normal = await StateStore.open(tmp_path / "n.sqlite", synchronous="NORMAL")
        full = await StateStore.open(tmp_path / "f.sqlite", synchronous="FULL")
        try:
            assert normal.wal_unsynced_s(time.monotonic()) == 0.0
            normal.commit_now({"k": b"v"})
            full.commit_now({"k": b"v"})
            lag_now = normal.wal_unsynced_s(time.monotonic() + 1.0)
            deadline = time.monotonic() + 5.0
            while normal.wal_unsynced_s(time.monotonic()) and time.monotonic() < deadline:
                time.sleep(WAL_SYNC_INTERVAL_S / 5)
            return lag_now, normal.wal_unsynced_s(time.monotonic()), full.wal_unsynced_s(
                time.monotonic() + 1.0)
        finally:
            await normal.close()
            await full.close()

    lag_now, after_sync, full_lag = asyncio.run(scenario())
    assert lag_now >= 1.0
    assert after_sync == 0.0
    assert full_lag == 0.0
