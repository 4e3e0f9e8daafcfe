"""ZAP handler (ZeroMQ RFC 27) in the event loop: CURVE clients on an allowlist get in."""

from __future__ import annotations

import asyncio
import contextlib

import zmq
from zmq.utils import z85

from actors._runtime import log
from supervisor.zmqloop import Watch

ZAP_ENDPOINT = "inproc://zeromq.zap.01"


class ZapHandler:
    """Answers authentication requests for CURVE sockets of the same context."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], allowed: set[bytes]) -> None:
        """Bind the ZAP endpoint; ``allowed`` holds Z85 client public keys."""
        self.log = log.get()
        self.allowed = {z85.decode(k) for k in allowed}
        self.sock = ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(ZAP_ENDPOINT)
        self._watch: Watch | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve from ``loop``."""
        self._watch = Watch(loop, self.sock, self._pump)

    def _pump(self) -> None:
        try:
            frames = self.sock.recv_multipart(flags=zmq.NOBLOCK)
        except zmq.Again:
            return
        version, request_id = frames[0], frames[1]
        mechanism = frames[5] if len(frames) > 5 else b""
        key = frames[6] if len(frames) > 6 else b""
        ok = mechanism == b"CURVE" and key in self.allowed
        if not ok:
            self.log.warning("admin_tcp_refused", mechanism=mechanism.decode(errors="replace"),
                             address=frames[3].decode(errors="replace") if len(frames) > 3 else "")
        reply = [version, request_id, b"200" if ok else b"400",
                 b"OK" if ok else b"client key not allowed", b"", b""]
        with contextlib.suppress(zmq.ZMQError):
            self.sock.send_multipart(reply)
        if self._watch is not None:
            self._watch.poke()

    def close(self) -> None:
        """Stop."""
        if self._watch is not None:
            self._watch.close()
        self.sock.close(linger=0)
