"""The admin socket: operators' requests in, one reply each; bad requests get an error reply."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import zmq
import zmq.auth

from actors._runtime import endpoints, log
from supervisor.admin_messages import (
    ENCODER,
    REQUEST_DECODER,
    AdminRequest,
    AnyReply,
    ErrorReply,
)
from supervisor.errors import ConfigError
from supervisor.zap import ZapHandler
from supervisor.zmqloop import Watch

Handler = Callable[[AdminRequest], AnyReply | Awaitable[AnyReply]]
"""Answers a request, at once or (an awaitable) once what it reports is done."""


class AdminServer:
    """ROUTER bound at ``ipc://<run-dir>/admin``; the socket file is made owner-only (0600)."""

    def __init__(
        self, ctx: zmq.Context[zmq.Socket[bytes]], run_dir: Path, handler: Handler,
        *, tcp: str = "", curve_key_file: str = "", allowed_clients: tuple[str, ...] = (),
    ) -> None:
        """Bind the ipc socket, and the TCP one (CURVE only) when ``tcp`` is set."""
        self.log = log.get()
        self.handler = handler
        self.bad = 0
        self.tcp_sock: zmq.Socket[bytes] | None = None
        self.zap: ZapHandler | None = None
        if tcp:
            self._bind_tcp(ctx, tcp, curve_key_file, allowed_clients)
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
        self._later: set[asyncio.Future[None]] = set()

    def _bind_tcp(self, ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, key_file: str,
                  allowed: tuple[str, ...]) -> None:
        if not key_file or not allowed:
            raise ConfigError("admin TCP endpoint refused: CURVE keys are required")
        if not zmq.has("curve"):
            raise ConfigError("admin TCP endpoint refused: this libzmq has no CURVE support")
        try:
            public, secret = zmq.auth.load_certificate(key_file)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"admin CURVE key file {key_file}: {exc}") from exc
        if secret is None:
            raise ConfigError(f"admin CURVE key file {key_file} holds no secret key")
        self.zap = ZapHandler(ctx, {k.encode() for k in allowed})
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_server = True
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.zap_domain = b"quantfund-admin"
        sock.bind(endpoint)
        self.tcp_sock = sock
        self.log.info("admin_tcp_listening", endpoint=endpoint, clients=len(allowed))

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving from ``loop``."""
        self._watch = Watch(loop, self.sock, lambda: self._pump(self.sock, self._watch))
        if self.zap is not None and self.tcp_sock is not None:
            self.zap.attach(loop)
            tcp = self.tcp_sock
            self._tcp_watch = Watch(loop, tcp, lambda: self._pump(tcp, self._tcp_watch))

    def _pump(self, sock: zmq.Socket[bytes], watch: Watch | None) -> None:
        for _ in range(100):
            try:
                frames = sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) < 2:
                continue
            reply = self._serve(frames[-1])
            if inspect.isawaitable(reply):
                task = asyncio.ensure_future(self._reply_later(sock, watch, frames, reply))
                self._later.add(task)  # held until done: the loop keeps only weak references
                task.add_done_callback(self._later.discard)
                continue
            self._send(sock, watch, frames, reply)

    async def _reply_later(
        self, sock: zmq.Socket[bytes], watch: Watch | None, frames: list[bytes],
        reply: Awaitable[AnyReply],
    ) -> None:
        try:
            answer = await reply
        except Exception as exc:
            self.log.exception("admin_request_failed")
            answer = ErrorReply(error=f"request failed: {exc}")
        self._send(sock, watch, frames, answer)

    @staticmethod
    def _send(
        sock: zmq.Socket[bytes], watch: Watch | None, frames: list[bytes], reply: AnyReply
    ) -> None:
        with contextlib.suppress(zmq.ZMQError):
            sock.send_multipart([*frames[:-1], ENCODER.encode(reply)], flags=zmq.NOBLOCK)
        if watch is not None:
            watch.poke()

    def _serve(self, body: bytes) -> AnyReply | Awaitable[AnyReply]:
        try:
            request = REQUEST_DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            # msgspec raises UnicodeDecodeError, not DecodeError, for a string that is not UTF-8.
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
        if self.tcp_sock is not None:
            self._tcp_watch.close()
            self.tcp_sock.close(linger=0)
        if self.zap is not None:
            self.zap.close()
