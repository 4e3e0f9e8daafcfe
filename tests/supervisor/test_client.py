"""The admin client: an unreadable reply is reported as no answer (so ``halt`` falls back to
the store), never a traceback."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import zmq

from actors._runtime import endpoints
from supervisor.admin_messages import StatusRequest
from supervisor.client import request
from supervisor.errors import AdminUnavailable


@pytest.mark.timeout(20)
@pytest.mark.parametrize("garbage", [b"\xc1", b"\x81\xa1\xff\x01", b"\x92\x01\x02", b""])
def test_an_unreadable_reply_is_no_answer(tmp_path: Path, garbage: bytes) -> None:
    """A server that answers bytes which are not a reply makes ``request`` raise
    ``AdminUnavailable`` naming the unreadable reply."""
    run = tmp_path / "r"
    run.mkdir()
    ctx = zmq.Context()
    server = ctx.socket(zmq.ROUTER)
    server.bind(endpoints.admin(run))

    def answer() -> None:
        if server.poll(5000):
            frames = server.recv_multipart()
            server.send_multipart([frames[0], b"", garbage])

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        with pytest.raises(AdminUnavailable, match="unreadable reply"):
            request(run, StatusRequest(), timeout_s=5.0)
    finally:
        thread.join(timeout=10)
        server.close(linger=0)
        ctx.term()
