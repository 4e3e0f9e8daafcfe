"""Fuzzing the admin request decoder where ``test_admin.py`` does not reach: strings that are
not UTF-8, huge and unusual text, every field of every request with a value of the wrong type.

The property: ``AdminServer._serve`` answers every body with a reply the client can decode; a
body that is not a request is counted and answered with an ``ErrorReply`` naming what was wrong;
a well-formed request reaches the handler with exactly the text that was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import zmq
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from supervisor.admin import AdminServer
from supervisor.admin_messages import (
    ENCODER,
    REPLY_DECODER,
    AdminRequest,
    CommandReply,
    ErrorReply,
    HaltRequest,
    ReduceRequest,
    ResumeRequest,
)

_seen: list[AdminRequest] = []


def _handler(req: AdminRequest) -> CommandReply:
    _seen.append(req)
    return CommandReply(ok=True, state="HALTED", seq=1, message="ok")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    """One admin server (bound, never attached to a loop) for all examples."""
    ctx = zmq.Context()
    srv = AdminServer(ctx, tmp_path_factory.mktemp("admfz"), _handler)
    yield srv
    srv.close()
    ctx.term()


def _serve(server: AdminServer, body: bytes) -> CommandReply | ErrorReply:
    """Serve ``body``; the reply must survive the trip back to the client."""
    reply = REPLY_DECODER.decode(ENCODER.encode(server._serve(body)))
    assert isinstance(reply, CommandReply | ErrorReply), reply
    return reply


def _raw_str(data: bytes) -> bytes:
    """A msgpack str (str 8 format) holding ``data`` as is, UTF-8 or not."""
    return b"\xd9" + bytes([len(data)]) + data


def _fuzz(examples: int) -> settings:
    """Settings of these tests: the module-scoped server fixture is safe to share."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@_fuzz(150)
@given(
    where=st.sampled_from(["type", "reason", "who", "key"]),
    raw=st.binary(min_size=1, max_size=40) | st.sampled_from([b"\xff", b"\xed\xa0\x80"]),
)
@example(where="reason", raw=b"\xff")  # found by fuzzing: UnicodeDecodeError escaped _serve
def test_strings_that_are_not_utf8_get_an_error_reply(
    server: AdminServer, where: str, raw: bytes
) -> None:
    """A request whose type, reason, who or a key is not valid UTF-8 is counted as bad and
    answered with an ErrorReply; before the fix msgspec's UnicodeDecodeError escaped the
    admin pump, so the operator got no answer at all."""
    parts = {"type": b"HaltRequest", "reason": b"r", "who": b"w", "key": b"who"}
    parts[where] = raw
    body = (b"\x83" + _raw_str(b"type") + _raw_str(parts["type"]) + _raw_str(b"reason")
            + _raw_str(parts["reason"]) + _raw_str(parts["key"]) + _raw_str(parts["who"]))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = False
    else:
        utf8 = True
    bad_before = server.bad
    reply = _serve(server, body)
    if not utf8:
        assert isinstance(reply, ErrorReply)
        assert reply.error.startswith("bad request: ")
        assert server.bad == bad_before + 1


_text = st.text(max_size=50) | st.sampled_from(
    ["", " ", "\x00", "\u202e\u200b", "\U0001f6d1" * 1000, "x" * 100_000, "\ufeff"]
)


@_fuzz(150)
@given(kind=st.sampled_from([HaltRequest, ReduceRequest, ResumeRequest]), reason=_text,
       who=_text)
def test_any_text_in_a_well_formed_request_reaches_the_handler_unchanged(
    server: AdminServer, kind: type[HaltRequest], reason: str, who: str
) -> None:
    """Huge, blank, control and right-to-left text is not the decoder's business: the request
    reaches the handler exactly as sent (the handler refuses blanks itself)."""
    _seen.clear()
    reply = _serve(server, ENCODER.encode(kind(reason=reason, who=who)))
    assert isinstance(reply, CommandReply)
    assert _seen == [kind(reason=reason, who=who)]


_wrong = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.binary(max_size=10)
    | st.lists(st.booleans(), max_size=3) | st.dictionaries(st.text(max_size=3), st.booleans(),
                                                             max_size=2)
)


@_fuzz(150)
@given(field=st.sampled_from(["reason", "who"]), value=_wrong,
       kind=st.sampled_from(["HaltRequest", "ReduceRequest", "ResumeRequest"]))
def test_a_field_of_the_wrong_type_is_named_in_the_error(
    server: AdminServer, field: str, value: object, kind: str
) -> None:
    """A reason or who that is not a string: the ErrorReply names that field."""
    fields: dict[str, object] = {"type": kind, "reason": "r", "who": "w", field: value}
    reply = _serve(server, msgspec.msgpack.encode(fields))
    assert isinstance(reply, ErrorReply)
    assert f"$.{field}" in reply.error, reply.error


@_fuzz(100)
@given(extra=st.text(min_size=1, max_size=20).filter(lambda k: k not in ("type", "reason", "who")),
       kind=st.sampled_from(["StatusRequest", "HaltRequest"]))
def test_an_unknown_field_is_named_in_the_error(
    server: AdminServer, extra: str, kind: str
) -> None:
    """Any extra key, whatever its text, is refused and named."""
    fields: dict[str, object] = {"type": kind, extra: 1}
    if kind == "HaltRequest":
        fields |= {"reason": "r", "who": "w"}
    reply = _serve(server, msgspec.msgpack.encode(fields))
    assert isinstance(reply, ErrorReply)
    assert extra in reply.error, reply.error


def test_the_server_counts_no_bad_request_for_good_ones(tmp_path: Path) -> None:
    """The bad-request counter moves only for bodies that are not requests."""
    ctx = zmq.Context()
    srv = AdminServer(ctx, tmp_path, _handler)
    try:
        srv._serve(ENCODER.encode(HaltRequest(reason="r", who="w")))
        assert srv.bad == 0
        srv._serve(b"\x81\xa1\xff\x01")
        assert srv.bad == 1
    finally:
        srv.close()
        ctx.term()
