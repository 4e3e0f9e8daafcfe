"""Readiness: waiting for plain ZeroMQ sockets from an asyncio loop (real sockets, inproc)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
import zmq

from actors._runtime.ready import Readiness, Sock


@pytest.fixture
def pair() -> Iterator[tuple[Sock, Sock, Sock]]:
    """A PUSH feeding a PULL, and a second PULL nobody feeds."""
    ctx: zmq.Context[Sock] = zmq.Context()
    push, pull, idle = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL), ctx.socket(zmq.PULL)
    pull.bind("inproc://ready-test")
    idle.bind("inproc://ready-idle")
    push.connect("inproc://ready-test")
    yield push, pull, idle
    ctx.destroy(linger=0)


T = TypeVar("T")


def _run(coro_fn: Callable[[Readiness], Awaitable[T]], *socks: Sock) -> T:
    """Run ``coro_fn`` on a fresh loop with ``socks`` registered (5 s at most)."""
    async def main() -> T:
        ready = Readiness(asyncio.get_running_loop(), socks)
        try:
            return await asyncio.wait_for(coro_fn(ready), timeout=5)
        finally:
            ready.close()
    return asyncio.run(main())


async def _timed_wait(ready: Readiness, socks: list[Sock], timeout_ms: int
                      ) -> tuple[list[Sock], float]:
    """``ready.wait`` and how long it took (s)."""
    t = time.monotonic()
    got = await ready.wait(socks, timeout_ms)
    return got, time.monotonic() - t


def test_times_out_with_nothing_to_read(pair: tuple[Sock, Sock, Sock]) -> None:
    """No input: an empty answer after about the timeout, not at once."""
    _, pull, idle = pair

    async def body(ready: Readiness) -> tuple[list[Sock], float]:
        return await _timed_wait(ready, [pull, idle], 50)

    got, waited = _run(body, pull, idle)
    assert got == []
    assert waited >= 0.045


def test_zero_timeout_only_looks(pair: tuple[Sock, Sock, Sock]) -> None:
    """timeout 0 returns at once, with or without input."""
    push, pull, idle = pair

    async def body(ready: Readiness) -> tuple[list[Sock], list[Sock]]:
        before = await ready.wait([pull, idle], 0)
        push.send(b"x")
        await asyncio.sleep(0.01)
        return before, await ready.wait([pull, idle], 0)

    before, after = _run(body, pull, idle)
    assert before == []
    assert after == [pull]


def test_wakes_on_a_message_sent_while_sleeping(pair: tuple[Sock, Sock, Sock]) -> None:
    """A message arriving during the wait wakes it long before its timeout."""
    push, pull, idle = pair

    async def body(ready: Readiness) -> tuple[list[Sock], float]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, push.send, b"x")
        return await _timed_wait(ready, [pull, idle], 3000)

    got, waited = _run(body, pull, idle)
    assert got == [pull]
    assert waited < 1.0
    assert pull.recv(flags=zmq.NOBLOCK) == b"x"


def test_input_whose_signal_was_consumed_is_still_found(pair: tuple[Sock, Sock, Sock]) -> None:
    """The descriptor's edge is consumed while nobody waits (the loop is busy elsewhere): the
    next wait still sees the queued message and returns at once."""
    push, pull, idle = pair

    async def body(ready: Readiness) -> tuple[list[Sock], float]:
        push.send(b"x")
        await asyncio.sleep(0.05)  # the reader callback runs and consumes the edge
        return await _timed_wait(ready, [pull, idle], 3000)

    got, waited = _run(body, pull, idle)
    assert got == [pull]
    assert waited < 0.5


def test_several_messages_one_after_another(pair: tuple[Sock, Sock, Sock]) -> None:
    """Read one, wait again: every message is seen, none waits for a timeout."""
    push, pull, idle = pair

    async def body(ready: Readiness) -> tuple[list[bytes], float]:
        for i in range(20):
            push.send(str(i).encode())
        got: list[bytes] = []
        t = time.monotonic()
        while len(got) < 20:
            if await ready.wait([pull, idle], 3000):
                got.append(pull.recv(flags=zmq.NOBLOCK))
        return got, time.monotonic() - t

    got, took = _run(body, pull, idle)
    assert got == [str(i).encode() for i in range(20)]
    assert took < 2.0


def test_a_second_waiter_is_refused(pair: tuple[Sock, Sock, Sock]) -> None:
    """One waiter at a time: a second, concurrent wait raises and says so."""
    _, pull, idle = pair

    async def body(ready: Readiness) -> str:
        first = asyncio.ensure_future(ready.wait([pull], 200))
        await asyncio.sleep(0.01)
        try:
            await ready.wait([idle], 200)
        except RuntimeError as exc:
            return str(exc)
        finally:
            await first
        return "no error"

    assert "already awaited" in _run(body, pull, idle)
