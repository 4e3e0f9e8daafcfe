"""Fuzzing the bus envelope decoder beyond random bytes: msgpack of the wrong shape, envelopes
of every message type with fields of any type, strings that are not UTF-8, mutated real frames.

``test_codec.py`` feeds it plain random bytes, which almost never reach the fields. Whatever a
frame holds, ``Codec.decode`` returns an envelope that encodes again, or raises ``BadMessage``
saying what was wrong; never anything else (the hub and every actor catch only that).
"""

from __future__ import annotations

import re

import msgspec
from hypothesis import example, given, settings
from hypothesis import strategies as st

from actors import wire
from actors._runtime.codec import BadMessage, Envelope
from actors._runtime.messages import Heartbeat, Ready
from actors.execution.messages import Side, SubmitOrder

_CODEC = wire.codec()
_TYPES = {t.__name__: t for t in _CODEC.types}
_FIELDS = {name: [f.encode_name for f in msgspec.structs.fields(t)] for name, t in _TYPES.items()}

# Scalars msgpack can carry, with the awkward ones well represented.
_scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(max_size=30) | st.binary(max_size=30)
    | st.sampled_from(["", "\u202e", "\U0001f600" * 100, "x" * 5000, "\x00"])
)
_values = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=4),
    max_leaves=10,
)


def _payload(type_name: str) -> st.SearchStrategy[dict[str, object]]:
    """A payload map for ``type_name``: its own field names (some left out) plus strays."""
    names = [*_FIELDS.get(type_name, []), "type", "evil", ""]
    return st.dictionaries(st.sampled_from(names), _values, max_size=len(names)).map(
        lambda d: {"type": type_name, **d}
    )


_type_names = st.sampled_from([*_TYPES, "Nope", "", "Message", "Event", "Command"])
_envelope_maps = st.builds(
    lambda sender, msg_id, payload, extra: {"sender": sender, "msg_id": msg_id,
                                            "payload": payload, **extra},
    _values, _values, _type_names.flatmap(_payload),
    st.dictionaries(st.sampled_from(["correlation_id", "sent_at", "sent_mono_ns", "x"]),
                    _values, max_size=2),
)


def _assert_decodes_or_bad_message(data: bytes) -> BadMessage | None:
    """The property: an envelope that encodes again, or BadMessage; return the error."""
    try:
        env = _CODEC.decode(data)
    except BadMessage as exc:
        error = exc
    else:
        assert isinstance(env, Envelope)
        assert type(env.payload) in _CODEC.types
        msgspec.msgpack.encode(env)  # every string in it is valid text
        return None
    assert str(error).startswith(f"undecodable envelope ({len(data)} bytes): "), error
    return error


@settings(max_examples=200, deadline=None)
@given(data=_envelope_maps)
def test_envelopes_of_every_type_with_any_field_values(data: dict[str, object]) -> None:
    """An envelope-shaped map with any values decodes, or BadMessage names the bad field:
    its path (``$.payload.pid``) or the missing, unknown or mistyped field's name."""
    err = _assert_decodes_or_bad_message(msgspec.msgpack.encode(data))
    if err is not None:
        assert re.search(r"`\$[^`]*`|field `[^`]*`", str(err)), err


@settings(max_examples=150, deadline=None)
@given(value=_values)
def test_any_msgpack_value_decodes_or_raises_bad_message(value: object) -> None:
    """Valid msgpack of any shape (lists, strings, numbers, maps) is refused as BadMessage."""
    _assert_decodes_or_bad_message(msgspec.msgpack.encode(value))


def _raw_str(data: bytes) -> bytes:
    """A msgpack str header followed by ``data`` as is, UTF-8 or not (str 8 format)."""
    return b"\xd9" + bytes([len(data)]) + data


_raw_text = st.binary(max_size=40) | st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc3"])


@settings(max_examples=200, deadline=None)
@given(
    where=st.sampled_from(["key", "sender", "msg_id", "type", "actor"]),
    raw=_raw_text,
)
@example(where="key", raw=b"\xff")  # found by fuzzing: UnicodeDecodeError escaped the codec
def test_strings_that_are_not_utf8_raise_bad_message(where: str, raw: bytes) -> None:
    """A frame whose key or string value is not UTF-8 raises BadMessage, not the
    UnicodeDecodeError msgspec lets through (which would escape the hub's and actors' pumps)."""
    parts = {"sender": _raw_str(b"s"), "msg_id": _raw_str(b"1"), "type": _raw_str(b"Ready"),
             "actor": _raw_str(b"a")}
    parts[where if where != "key" else "actor"] = _raw_str(raw)
    key = _raw_str(raw) if where == "key" else _raw_str(b"actor")
    payload = (b"\x84" + _raw_str(b"type") + parts["type"] + key + parts["actor"]
               + _raw_str(b"pid") + b"\x01" + _raw_str(b"restored") + b"\x80")
    data = (b"\x83" + _raw_str(b"sender") + parts["sender"] + _raw_str(b"msg_id")
            + parts["msg_id"] + _raw_str(b"payload") + payload)
    _assert_decodes_or_bad_message(data)


_REAL = [
    _CODEC.encode("orchestrator", SubmitOrder(intent_id="i-1", instrument="BTC-USD",
                                              side=Side.SELL, quantity=2.5,
                                              reference_price=101.25)),
    _CODEC.encode("journal", Ready(actor="journal", pid=42, restored={"seq": 7, "ok": True})),
    _CODEC.encode("breaker", Heartbeat(actor="breaker", pid=9, seq=3, iterations=11,
                                       state_age_s=0.5), correlation_id="c"),
]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A real frame with a few bytes flipped, inserted, deleted, or its tail cut."""
    data = bytearray(draw(st.sampled_from(_REAL)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[at]
        else:
            del data[at:]
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(data=_mutated())
def test_mutated_real_frames_decode_or_raise_bad_message(data: bytes) -> None:
    """A real envelope with bytes flipped, inserted, removed or cut still decodes (to valid
    values) or raises BadMessage; never another exception."""
    _assert_decodes_or_bad_message(data)
