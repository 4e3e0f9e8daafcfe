"""Random garbage frames into a running tree: nothing dies, status answers, every frame is counted.

``test_tree.py`` sends one hand-written bad frame per socket; this pushes a seeded corpus of
garbage (random bytes, msgpack of the wrong shape, envelopes with unknown types or wrong field
types, strings that are not UTF-8, huge and multi-part frames) and checks the counts exactly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import msgspec
import zmq

from actors._runtime import endpoints
from actors.execution.messages import Side, SubmitOrder
from actors.wire import codec
from supervisor.admin_messages import REPLY_DECODER, ErrorReply
from tests.support.tree import TreeRun, alive

_SEED = 20261124


def _corpus(rng: random.Random) -> list[list[bytes]]:
    """Bad messages (each a list of frames; the last frame is the body the decoder sees)."""
    enc = msgspec.msgpack.encode
    env = {"sender": "x", "msg_id": "1"}
    crafted: list[bytes] = [
        b"",
        b"\xc1",  # a byte msgpack never uses
        b"\x81\xa1\xff\x01",  # a map whose key is not UTF-8
        enc({**env, "payload": {"type": "Ready", "actor": "a", "pid": 1, "restored": {}}})[:-3],
        b"\x83\xa6sender\xa2\xed\xa0\xa6msg_id\xa11\xa7payload\xc0",  # a surrogate, not UTF-8
        enc({**env, "payload": {"type": "Nope"}}),
        enc({**env, "payload": {"type": "Heartbeat", "actor": "a", "pid": "one", "seq": 1,
                                "iterations": 1, "state_age_s": 0.0}}),
        enc({**env, "payload": {"type": "Ready", "actor": "\u202e" * 10_000, "pid": 1,
                                "restored": {}, "evil": 1}}),
        enc([1, 2, 3]),
        enc("just a string"),
        b"\x91" * 50_000 + b"\xc0",  # arrays nested 50,000 deep
        bytes(rng.getrandbits(8) for _ in range(1 << 20)),  # 1 MiB of noise
    ]
    noise = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) for _ in range(40)]
    single = [[body] for body in crafted + noise]
    # A multi-part message counts once: the decoder reads its last frame.
    return [*single, [b"head", b"\x00tail"]]


def _wait_count(tree: TreeRun, socket: str, expected: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := tree.status().supervisor.bad_messages.get(socket, 0)) < expected:
        tail = "".join(tree.raw[-20:])
        assert time.monotonic() < deadline, f"{socket}: {seen} bad, not {expected}; log:\n{tail}"
        time.sleep(0.1)


def test_random_garbage_on_bus_in_control_commands_and_admin_kills_nothing(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """Seeded garbage on bus-in, the control socket, execution's command socket and the admin
    socket: every child keeps its pid, status keeps answering, the supervisor counts exactly
    one bad message per garbage message on bus-in (plus one for a command pushed there: a valid
    envelope, but not an event) and on control, execution logs exactly as many bad commands as
    it received, and every admin request gets an ErrorReply."""
    tree: TreeRun = tree_factory()
    tree.wait_started()
    before = tree.status()
    pids = {a.name: a.pid for a in before.actors}
    base = dict(before.supervisor.bad_messages)
    corpus = _corpus(random.Random(_SEED))
    # Valid envelopes on the wrong socket: a command on the event bus.
    command = codec().encode("intruder", SubmitOrder(
        intent_id="i", instrument="BTC-USD", side=Side.BUY, quantity=1.0, reference_price=1.0))
    mark = tree.mark()

    ctx = zmq.Context()
    try:
        push = ctx.socket(zmq.PUSH)
        control = ctx.socket(zmq.DEALER)
        control.setsockopt(zmq.IDENTITY, b"intruder")
        cmd = ctx.socket(zmq.DEALER)
        admin = ctx.socket(zmq.DEALER)
        for sock in (push, control, cmd, admin):
            sock.setsockopt(zmq.LINGER, 0)
        push.connect(endpoints.bus_in(tree.run_dir))
        control.connect(endpoints.control(tree.run_dir))
        cmd.connect(endpoints.commands(tree.run_dir, "execution"))
        admin.connect(endpoints.admin(tree.run_dir))
        for frames in corpus:
            push.send_multipart(frames)
            cmd.send_multipart(frames)
            # The control ROUTER adds the identity: two frames make [identity, body].
            control.send_multipart(frames)
            admin.send_multipart([b"", *frames])
        push.send(command)
        replies = []
        for _ in corpus:
            assert admin.poll(5000), "the admin socket stopped answering"
            replies.append(REPLY_DECODER.decode(admin.recv_multipart()[-1]))
        assert all(isinstance(r, ErrorReply) for r in replies), replies
        assert all(r.error for r in replies if isinstance(r, ErrorReply))

        bus_expected = base.get("bus-in", 0) + len(corpus) + 1
        control_expected = base.get("control", 0) + len(corpus)
        _wait_count(tree, "bus-in", bus_expected)
        _wait_count(tree, "control", control_expected)
        # Every garbage message on the command socket, and nothing else, is counted.
        tree.wait_for("bad_message", lambda ln: ln.get("actor") == "execution"
                      and ln.get("socket") == "commands" and ln.get("count") == len(corpus),
                      after=mark)
    finally:
        ctx.destroy(linger=0)

    after = tree.status()
    assert after.supervisor.bad_messages.get("bus-in", 0) == bus_expected
    assert after.supervisor.bad_messages.get("control", 0) == control_expected
    assert {a.name: a.pid for a in after.actors} == pids
    assert all(a.alive and a.restarts == 0 for a in after.actors), after.actors
    assert all(alive(p) for p in pids.values() if p is not None)
    assert not [ln for ln in tree.lines[mark:] if ln.get("event") == "child_terminated"]
