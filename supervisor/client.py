"""The CLI's side of the admin socket: one request, one reply, within a timeout."""

from __future__ import annotations

from pathlib import Path

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
        reply: AnyReply = REPLY_DECODER.decode(sock.recv_multipart()[-1])
        return reply
    finally:
        sock.close(linger=0)
        ctx.term()
