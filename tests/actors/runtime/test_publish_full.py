"""A full bus queue drops the event with a log line; it never raises into the actor's step."""

from __future__ import annotations

import asyncio
import types

import structlog
import zmq

from actors import wire
from actors._runtime import log
from actors._runtime.messages import TreeLiveness
from actors._runtime.process import Runtime


class _FullSocket:
    def send(self, _data: bytes, flags: int = 0) -> None:
        raise zmq.Again


def test_a_full_bus_queue_is_logged_and_the_event_dropped() -> None:
    """``bus_full_event_dropped`` names the event type (a key other than structlog's own
    ``event``, which raised TypeError here before)."""
    log.configure("test", json_lines=True)
    runtime = types.SimpleNamespace(push=_FullSocket(), codec=wire.codec(), name="breaker",
                                    log=log.get())
    with structlog.testing.capture_logs() as logs:
        asyncio.run(Runtime._publish(runtime, TreeLiveness(live=True, stale=[])))  # type: ignore[arg-type]
    assert [(e["event"], e["event_type"]) for e in logs] == [
        ("bus_full_event_dropped", "TreeLiveness")]
