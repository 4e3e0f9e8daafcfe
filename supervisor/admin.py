"""The admin socket: operators' requests in, one reply each; bad requests get an error reply."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import msgspec
import zmq

from actors._runtime import endpoints, log
from supervisor.admin_messages import (
    ENCODER,
    REQUEST_DECODER,
    AdminRequest,
    AnyReply,
    ErrorReply,
)
from supervisor.zmqloop import Watch

Handler = Callable[[AdminRequest], AnyReply]


class AdminServer:
    """ROUTER bound at ``ipc://<run-dir>/admin``; the socket file is made owner-only (0600)."""

    def __init__(
        self, ctx: zmq.Context[zmq.Socket[bytes]], run_dir: Path, handler: Handler
    ) -> None:
        """Bind the socket."""
        self.log = log.get()
        self.handler = handler
        self.bad = 0
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        endpoint = endpoints.admin(run_dir)
        path = endpoint.removeprefix("ipc://")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        old = os.umask(0o177)  # the socket file is created 0600: owner only
        try:
            self.sock.bind(endpoint)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self._watch: Watch | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving from ``loop``."""
        self._watch = Watch(loop, self.sock, self._pump)

    def _pump(self) -> None:
        for _ in range(100):
            try:
                frames = self.sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) < 2:
                continue
            identity, body = frames[0], frames[-1]
            reply = self._serve(body)
            with contextlib.suppress(zmq.ZMQError):
                self.sock.send_multipart(
                    [identity, *frames[1:-1], ENCODER.encode(reply)], flags=zmq.NOBLOCK
                )
            if self._watch is not None:
                self._watch.poke()

    def _serve(self, body: bytes) -> AnyReply:
        try:
            request = REQUEST_DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.bad += 1
            self.log.warning("bad_admin_request", reason=str(exc), count=self.bad)
            return ErrorReply(error=f"bad request: {exc}")
        try:
            return self.handler(request)
        except Exception as exc:
            self.log.exception("admin_request_failed", request=type(request).__name__)
            return ErrorReply(error=f"{type(request).__name__} failed: {exc}")

    def close(self) -> None:
        """Close the socket."""
        if self._watch is not None:
            self._watch.close()
        self.sock.close(linger=0)
