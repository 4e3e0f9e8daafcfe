"""The wire codec and endpoint checks."""

from __future__ import annotations

import contextlib
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors import wire
from actors._runtime import endpoints
from actors._runtime.codec import BadMessage
from actors._runtime.messages import Heartbeat, Ready
from actors.execution.messages import Side, SubmitOrder


def test_round_trip_keeps_payload_and_ids() -> None:
    """Encode then decode gives the same payload, sender and correlation id."""
    c = wire.codec()
    cmd = SubmitOrder(intent_id="i", instrument="X", side=Side.BUY, quantity=1.0,
                      reference_price=10.0)
    env = c.decode(c.encode("orchestrator", cmd, correlation_id="abc"))
    assert env.payload == cmd
    assert env.sender == "orchestrator"
    assert env.correlation_id == "abc"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "undecodable"),
        (b"\xc1", "undecodable"),
        (msgspec.msgpack.encode({"sender": "x", "msg_id": "1", "payload": {"type": "Nope"}}),
         "Nope"),
        (msgspec.msgpack.encode({"sender": "x", "msg_id": "1", "payload": {
            "type": "Ready", "actor": "a", "pid": 1, "restored": {}, "evil": 1}}), "evil"),
        (msgspec.msgpack.encode({"sender": "x", "msg_id": "1", "payload": {
            "type": "Heartbeat", "actor": "a", "pid": "one", "seq": 1, "iterations": 1,
            "state_age_s": 0.0}}), "pid"),
    ],
)
def test_bad_bytes_raise_bad_message_naming_the_problem(data: bytes, needle: str) -> None:
    """Garbage, unknown types, unknown fields and wrong types are refused with a reason."""
    with pytest.raises(BadMessage, match=needle):
        wire.codec().decode(data)


@given(st.binary(max_size=300))
def test_any_bytes_either_decode_or_raise_bad_message(data: bytes) -> None:
    """Fuzz: the decoder never raises anything but BadMessage."""
    with contextlib.suppress(BadMessage):
        wire.codec().decode(data)


def test_codec_knows_every_actor_message() -> None:
    """The union covers runtime, trading and actor messages."""
    names = {t.__name__ for t in wire.codec().types}
    assert {"Ready", "Heartbeat", "SubmitOrder", "OrderFilled", "TradingStateChanged",
            "BreakerTripped", "HeartbeatMissed", "TreeLiveness"} <= names
    assert Ready in wire.codec().types
    assert Heartbeat in wire.codec().types


def test_too_long_ipc_path_is_a_clear_error(tmp_path: Path) -> None:
    """A run directory too deep for a unix socket path fails at start, naming the limit."""
    deep = tmp_path / ("d" * 120)
    with pytest.raises(endpoints.EndpointError, match="107"):
        endpoints.prepare_run_dir(deep)
