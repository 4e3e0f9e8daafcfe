"""The one codec every process uses: all message types of all actors, as one tagged union."""

from __future__ import annotations

import functools
import importlib

from actors._runtime.codec import Codec
from actors._runtime.messages import Command, Event, Message

# Modules that define messages; importing them registers their classes as subclasses.
MESSAGE_MODULES = (
    "actors._runtime.messages",
    "actors._runtime.trading",
    "actors._runtime.replay",
    "actors.execution.messages",
    "actors.orchestrator.messages",
    "actors.breaker.messages",
    "actors.heartbeat.messages",
    "actors.journal.messages",
    "actors.alerter.messages",
    "actors.venue.messages",
)

_ABSTRACT = {Message, Event, Command}


def _leaves(cls: type[Message]) -> list[type[Message]]:
    out: list[type[Message]] = []
    for sub in cls.__subclasses__():
        if sub not in _ABSTRACT:
            out.append(sub)
        out.extend(_leaves(sub))
    return out


@functools.cache
def codec() -> Codec:
    """The shared codec (built once per process)."""
    for name in MESSAGE_MODULES:
        importlib.import_module(name)
    types = tuple(sorted(set(_leaves(Message)), key=lambda t: t.__name__))
    return Codec(types)


def topic(message: Message) -> bytes:
    """Bus topic of a message: its tag plus a terminator, so prefix matching is exact."""
    return type(message).__name__.encode() + b"."
