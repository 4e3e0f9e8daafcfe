"""The CLI's side of the admin socket: one request, one reply, within a timeout."""

from __future__ import annotations

from pathlib import Path

import msgspec
import zmq

from actors._runtime import endpoints
from supervisor.admin_messages import (
    ENCODER,
    REPLY_DECODER,
    AdminRequest,
    AnyReply,
)
from supervisor.errors import AdminUnavailable


def request(
    run_dir: Path, req: AdminRequest, *, timeout_s: float = 2.0
) -> AnyReply:
    """Send ``req`` to the supervisor under ``run_dir``; raise ``AdminUnavailable`` on silence."""
    endpoint = endpoints.admin(run_dir)
    if not Path(endpoint.removeprefix("ipc://")).exists():
        raise AdminUnavailable(f"no admin socket at {endpoint}: is the tree running?")
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        sock.send_multipart([b"", ENCODER.encode(req)])
        if not sock.poll(int(timeout_s * 1000), zmq.POLLIN):
            raise AdminUnavailable(f"supervisor did not answer within {timeout_s} s at {endpoint}")
        raw = sock.recv_multipart()[-1]
        try:
            reply: AnyReply = REPLY_DECODER.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            # Not knowing what happened is treated as no answer: `halt` then writes the store.
            raise AdminUnavailable(f"unreadable reply from {endpoint}: {exc}") from exc
        return reply
    finally:
        sock.close(linger=0)
        ctx.term()
