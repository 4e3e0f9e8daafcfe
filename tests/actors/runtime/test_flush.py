"""``BaseActor.flush``: a hook commits its writes so far through the runtime's store, from the
actor thread, before it goes on; without a runtime the writes stay with the call's effects."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from actors._runtime.actor import BaseActor, CallKind, Effects
from actors._runtime.store import StateStore


class _Writer(BaseActor):
    """Writes ``a``, flushes, then reads what is on disk and writes ``b``."""

    def on_tick(self, now: float) -> None:
        self.put("a", b"1")
        self.flush()
        self.seen_on_disk = self.reader()
        self.put("b", b"2")


def _call(actor: BaseActor, kind: CallKind, arg: Any = None) -> Effects:
    actor._fx = Effects()
    actor._dispatch(kind, arg)
    fx, actor._fx = actor._fx, Effects()
    return fx


def test_flush_commits_through_the_store_from_another_thread(tmp_path: Path) -> None:
    store = asyncio.run(StateStore.open(tmp_path / "w.sqlite", synchronous="NORMAL"))
    actor = _Writer("w", {}, {}, tmp_path)
    actor.reader = lambda: asyncio.run(store.load())[0]
    _call(actor, CallKind.BIND, store.commit_now)
    out: dict[str, Effects] = {}
    # The actor thread is not the thread that opened the store, as in the runtime.
    worker = threading.Thread(target=lambda: out.update(fx=_call(actor, CallKind.TICK, 0.0)))
    worker.start()
    worker.join(timeout=10)
    assert actor.seen_on_disk == {"a": b"1"}  # committed before the hook went on
    assert out["fx"].writes == {"b": b"2"}  # the rest is the runtime's to commit
    asyncio.run(store.close())


def test_without_a_runtime_the_writes_stay_with_the_effects(tmp_path: Path) -> None:
    actor = _Writer("w", {}, {}, tmp_path)
    actor.reader = dict
    fx = _call(actor, CallKind.TICK, 0.0)
    assert fx.writes == {"a": b"1", "b": b"2"}
