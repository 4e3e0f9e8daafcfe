"""Envelope and wire codec: every message crosses a socket as a msgpack-encoded ``Envelope``."""

from __future__ import annotations

import time
import uuid
from typing import Any, Generic, TypeVar, Union

import msgspec

from actors._runtime.messages import Message

P = TypeVar("P")


class BadMessage(Exception):
    """Bytes that are not a valid envelope; the reason names what was wrong."""


class Envelope(msgspec.Struct, Generic[P], frozen=True, forbid_unknown_fields=True):
    """Routing and timing around a payload; the payload itself stays pure."""

    sender: str
    """Name of the sending process (an actor name, ``supervisor`` or ``cli``)."""
    msg_id: str
    """Unique id of this message; retries of a command reuse it."""
    payload: P
    """The message (a tagged ``Message`` struct)."""
    correlation_id: str = ""
    """Id of the message this one answers, when it is a reply."""
    sent_at: float = 0.0
    """Sender's wall clock at send time (epoch seconds)."""
    sent_mono_ns: int = 0
    """Sender's monotonic clock at send time (same-host latency measurement)."""


def new_id() -> str:
    """A fresh random message id."""
    return uuid.uuid4().hex


class Codec:
    """Encodes and decodes envelopes whose payload is one of a closed set of message types."""

    def __init__(self, types: tuple[type[Message], ...]) -> None:
        """Build a codec for exactly these payload types (a tagged union)."""
        self.types = types
        union: Any = types[0] if len(types) == 1 else Union[types]  # noqa: UP007 - built at run time
        self._decoder = msgspec.msgpack.Decoder(Envelope[union])
        self._encoder = msgspec.msgpack.Encoder()

    def encode(
        self, sender: str, payload: Message, *, msg_id: str = "", correlation_id: str = ""
    ) -> bytes:
        """Wrap ``payload`` in an envelope and encode it."""
        env = Envelope[Message](
            sender=sender,
            msg_id=msg_id or new_id(),
            payload=payload,
            correlation_id=correlation_id,
            sent_at=time.time(),
            sent_mono_ns=time.monotonic_ns(),
        )
        return self._encoder.encode(env)

    def decode(self, data: bytes) -> Envelope[Message]:
        """Decode bytes into an envelope, or raise ``BadMessage`` saying why not."""
        try:
            env: Envelope[Message] = self._decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise BadMessage(f"undecodable envelope ({len(data)} bytes): {exc}") from exc
        except UnicodeDecodeError as exc:  # msgspec lets this through for a non-UTF-8 string
            raise BadMessage(
                f"undecodable envelope ({len(data)} bytes): a string is not UTF-8 ({exc.reason})"
            ) from exc
        return env
