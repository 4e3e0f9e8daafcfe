"""The admin socket: any bytes get a reply, never a crash; owner-only ipc; TCP only with CURVE."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import zmq
import zmq.auth
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors._runtime import endpoints
from supervisor.admin import AdminServer
from supervisor.admin_messages import (
    ENCODER,
    REPLY_DECODER,
    AdminRequest,
    CommandReply,
    ErrorReply,
    HaltRequest,
    StatusRequest,
)


def _handler(req: AdminRequest) -> CommandReply | ErrorReply:
    if isinstance(req, HaltRequest):
        return CommandReply(ok=True, state="HALTED", seq=1, message="halted")
    return ErrorReply(error="unsupported in this test")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    run = tmp_path_factory.mktemp("adm")
    ctx = zmq.Context()
    srv = AdminServer(ctx, run, _handler)
    yield srv
    srv.close()
    ctx.term()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=4),
    max_leaves=12,
)
_requests = st.one_of(
    st.binary(max_size=200),
    st.builds(msgspec.msgpack.encode, _json_values),
    st.builds(
        lambda t, d: msgspec.msgpack.encode({"type": t, **d}),
        st.sampled_from(["StatusRequest", "HaltRequest", "ResumeRequest", "ReduceRequest",
                         "Nope", ""]),
        st.dictionaries(st.sampled_from(["reason", "who", "x", "type"]), _json_values,
                        max_size=3),
    ),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_requests)
def test_any_request_bytes_get_an_encodable_reply(server: AdminServer, body: bytes) -> None:
    """Fuzz: whatever arrives, the server answers with a reply the client can decode."""
    reply = server._serve(body)
    decoded = REPLY_DECODER.decode(ENCODER.encode(reply))
    assert isinstance(decoded, CommandReply | ErrorReply)


def test_valid_and_invalid_requests(server: AdminServer) -> None:
    """A well-formed halt reaches the handler; a halt missing its reason is a clear error."""
    ok = server._serve(ENCODER.encode(HaltRequest(reason="r", who="w")))
    assert isinstance(ok, CommandReply)
    bad = server._serve(msgspec.msgpack.encode({"type": "HaltRequest", "who": "w"}))
    assert isinstance(bad, ErrorReply)
    assert "reason" in bad.error


def test_ipc_socket_is_owner_only(tmp_path: Path) -> None:
    """The socket file is 0600 in a 0700 directory; another uid cannot connect."""
    if os.geteuid() != 0:
        pytest.skip("needs root to try as another uid")
    run = endpoints.prepare_run_dir(tmp_path / "run")
    ctx = zmq.Context()
    srv = AdminServer(ctx, run, _handler)
    try:
        path = endpoints.admin(run).removeprefix("ipc://")
        assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
        assert oct(os.stat(run).st_mode & 0o777) == oct(0o700)
        code = (
            "import os, socket, sys\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            f"try:\n    s.connect({path!r})\nexcept PermissionError:\n    sys.exit(13)\n"
            "sys.exit(0)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], timeout=30, check=False)
        assert out.returncode == 13, "a non-owner could connect to the admin socket"
        own = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        own.connect(path)  # the owner can
        own.close()
    finally:
        srv.close()
        ctx.term()


def test_tcp_without_curve_keys_refuses_to_start(tmp_path: Path) -> None:
    """`admin.tcp` without CURVE keys: `quantfund up` exits 2 naming the key."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[admin]\ntcp = "tcp://127.0.0.1:0"\n')
    out = subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "up", "--config", str(cfg),
         "--state-dir", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=60, check=False,
        cwd=str(Path(__file__).parents[2]),
    )
    assert out.returncode == 2
    assert "admin.tcp" in out.stderr
    assert "CURVE" in out.stderr


def test_tcp_with_curve_serves_allowed_clients_only(tmp_path: Path) -> None:
    """An allowlisted CURVE client gets answers; another key gets nothing."""
    keys = tmp_path / "keys"
    keys.mkdir()
    server_pub, server_key = zmq.auth.create_certificates(keys, "server")
    client_pub, client_key = zmq.auth.create_certificates(keys, "client")
    _, rogue_key = zmq.auth.create_certificates(keys, "rogue")
    allowed = zmq.auth.load_certificate(client_pub)[0].decode()
    ctx = zmq.Context()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = AdminServer(ctx, endpoints.prepare_run_dir(tmp_path / "run"), _handler,
                      tcp=f"tcp://127.0.0.1:{port}", curve_key_file=str(server_key),
                      allowed_clients=(allowed,))
    import asyncio

    async def ask(client_file: Path) -> object | None:
        loop = asyncio.get_running_loop()
        srv.attach(loop)
        pub, sec = zmq.auth.load_certificate(client_file)
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.curve_serverkey = zmq.auth.load_certificate(server_pub)[0]
        dealer.curve_publickey = pub
        dealer.curve_secretkey = sec
        dealer.connect(f"tcp://127.0.0.1:{port}")
        dealer.send_multipart([b"", ENCODER.encode(HaltRequest(reason="r", who="tcp"))])
        for _ in range(100):
            await asyncio.sleep(0.02)
            if dealer.poll(0):
                reply = REPLY_DECODER.decode(dealer.recv_multipart()[-1])
                dealer.close()
                return reply
        dealer.close()
        return None

    try:
        assert isinstance(asyncio.run(ask(client_key)), CommandReply)
        assert asyncio.run(ask(rogue_key)) is None
    finally:
        srv.close()
        ctx.term()


def test_status_request_encodes() -> None:
    """The status request has no fields; it round-trips."""
    assert isinstance(msgspec.msgpack.Decoder(StatusRequest).decode(ENCODER.encode(
        StatusRequest())), StatusRequest)


def test_a_deferred_answer_is_sent_when_it_is_ready(tmp_path: Path) -> None:
    """A handler may answer later (the kill switch waits for its fsync): the reply goes out
    when the awaitable completes, and the socket serves other requests meanwhile."""
    ctx = zmq.Context()
    done = asyncio.Event()

    async def later() -> CommandReply:
        await done.wait()
        return CommandReply(ok=True, state="HALTED", seq=7, message="durable")

    def handler(req: AdminRequest) -> object:
        return later() if isinstance(req, HaltRequest) else _handler(req)

    async def run() -> None:
        srv = AdminServer(ctx, tmp_path, handler)  # type: ignore[arg-type]
        srv.attach(asyncio.get_running_loop())
        client = ctx.socket(zmq.DEALER)
        client.connect(endpoints.admin(tmp_path))

        async def reply(timeout: float) -> object | None:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                if client.poll(0):
                    return REPLY_DECODER.decode(client.recv_multipart()[-1])
                await asyncio.sleep(0.01)
            return None

        try:
            client.send_multipart([b"", ENCODER.encode(HaltRequest(reason="r", who="w"))])
            assert await reply(0.3) is None  # held until durable
            client.send_multipart([b"", ENCODER.encode(StatusRequest())])
            other = await reply(5.0)
            assert isinstance(other, ErrorReply)  # served while the halt waits
            done.set()
            answer = await reply(5.0)
            assert isinstance(answer, CommandReply)
            assert answer.seq == 7
        finally:
            client.close(linger=0)
            srv.close()

    try:
        asyncio.run(run())
    finally:
        ctx.term()
