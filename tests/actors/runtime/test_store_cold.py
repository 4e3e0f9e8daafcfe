"""A start loads every key but those under ``COLD_PREFIX``, which stay readable on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from actors._runtime.store import COLD_PREFIX, StateStore, read_snapshot

# Neighbours of the prefix on both sides, in SQLite's byte order: only ``cold/...`` is cold.
KEYS = ["col", "cold", "cold.", "cold/", "cold/x", "cold/order/QF-1", "cold0", "colder", "a", "z"]


def test_load_skips_exactly_the_cold_keys_and_a_full_read_has_them(tmp_path: Path) -> None:
    path = tmp_path / "actor.sqlite"

    async def go() -> dict[str, bytes]:
        store = await StateStore.open(path, synchronous="NORMAL")
        try:
            await store.commit({k: k.encode() for k in KEYS})
            return (await store.load())[0]
        finally:
            await store.close()

    loaded = asyncio.run(go())
    assert sorted(loaded) == sorted(k for k in KEYS if not k.startswith(COLD_PREFIX))
    assert {"cold/", "cold/x", "cold/order/QF-1"}.isdisjoint(loaded)
    assert sorted(read_snapshot(path)) == sorted(KEYS)
