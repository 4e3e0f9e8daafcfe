"""The kill switch persists a change before it publishes it, and says it is durable only after
the fsync (ADR 0006)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from actors._runtime.halts_reader import HaltsReader
from actors._runtime.messages import Event
from actors._runtime.trading import TradingState, TradingStateChanged
from supervisor.killswitch import KillSwitch
from supervisor.trading_state import Source


def _switch(state_dir: Path, published: list[tuple[Event, TradingState]]) -> KillSwitch:
    reader = HaltsReader(state_dir)

    def publish(event: Event) -> None:
        # What another process reads from the store at the moment of the publish.
        published.append((event, reader.state()[0]))

    ks = KillSwitch(state_dir, publish)
    ks.open()
    return ks


def test_a_change_is_in_the_store_when_it_is_published(tmp_path: Path) -> None:
    published: list[tuple[Event, TradingState]] = []
    ks = _switch(tmp_path, published)
    try:
        assert ks.state is TradingState.ACTIVE
        ks.change(TradingState.HALTED, source=Source.OPERATOR, who="t", reason="test")
        ks.change(TradingState.ACTIVE, source=Source.OPERATOR, who="t", reason="test")
    finally:
        ks.close()
    changes = [(e.state, seen) for e, seen in published if isinstance(e, TradingStateChanged)]
    assert changes == [(TradingState.HALTED, TradingState.HALTED),
                       (TradingState.ACTIVE, TradingState.ACTIVE)]


def test_durable_returns_only_after_the_fsync(tmp_path: Path) -> None:
    ks = _switch(tmp_path, [])
    assert ks.store is not None
    release, synced = threading.Event(), threading.Event()
    real_sync = ks.store.sync

    def slow_sync() -> None:
        assert release.wait(5.0)
        real_sync()
        synced.set()

    ks.store.sync = slow_sync  # type: ignore[method-assign]

    async def run() -> None:
        ks.change(TradingState.HALTED, source=Source.OPERATOR, who="t", reason="test")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ks.durable(), timeout=0.2)  # the fsync is still held
        assert not synced.is_set()
        release.set()
        await asyncio.wait_for(ks.durable(), timeout=5.0)
        assert synced.is_set()

    try:
        asyncio.run(run())
    finally:
        release.set()
        ks.close()


def test_a_failed_fsync_reaches_whoever_waits(tmp_path: Path) -> None:
    ks = _switch(tmp_path, [])
    assert ks.store is not None

    def broken_sync() -> None:
        raise OSError(5, "Input/output error")

    ks.store.sync = broken_sync  # type: ignore[method-assign]

    async def run() -> None:
        ks.change(TradingState.HALTED, source=Source.OPERATOR, who="t", reason="test")
        with pytest.raises(OSError, match="Input/output error"):
            await asyncio.wait_for(ks.durable(), timeout=5.0)

    try:
        asyncio.run(run())
    finally:
        ks.close()
    assert HaltsReader(tmp_path).state()[0] is TradingState.HALTED  # committed all the same
