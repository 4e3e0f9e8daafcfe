"""A private asyncio loop on a thread of its own: how synchronous callers (execution's actor
thread) drive ccxt's async API with a deadline on every call, and never share a loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")


class CallTimedOut(TimeoutError):
    """A call to the venue got no answer within its deadline (it may still have taken effect)."""


class LoopThread:
    """One event loop, run forever on a daemon thread until ``close``."""

    def __init__(self, name: str) -> None:
        """Start the loop's thread (ready when this returns)."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        started = threading.Event()
        self.loop.call_soon(started.set)
        self._thread.start()
        started.wait(5.0)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``coro`` on the loop; its future, to wait for from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait at most ``timeout`` seconds for its result.

        Raises:
            CallTimedOut: No result in time; the coroutine is cancelled (what it sent may
                still arrive at the venue: the caller must find out, never resend blindly).
        """
        fut = self.submit(coro)
        try:
            return fut.result(timeout)
        except FutureTimeout:
            fut.cancel()
            raise CallTimedOut(f"no answer within {timeout:g} s") from None

    def close(self, coro: Coroutine[Any, Any, object] | None = None, timeout: float = 5.0) -> None:
        """Run ``coro`` (a last cleanup, such as closing the exchange's sessions), then stop."""
        if self.loop.is_closed():
            return
        if coro is not None:
            # Closing regardless: the process may be ending, and the venue keeps its own book.
            with contextlib.suppress(Exception):
                self.call(coro, timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
