"""Bus replay: a restarted subscriber gets the events it missed while it was down.

PUB/SUB delivers only to a connected subscriber, and a restart takes tens of milliseconds; an
actor that must see every event (the journal, the alerter, the breaker) would lose what was
published in that window. The hub keeps the most recent events by bus sequence number; an actor
that sets ``replays_bus`` persists the last sequence it handled and, after its handshake, asks
for everything between that and its own ping. The supervisor's epoch (one per supervisor
process) tells a position from an earlier supervisor apart: its events died with it, and the
replay starts at the beginning of the current epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from actors._runtime.messages import Event, Message

POSITION_KEY = "_bus"
"""State key of the subscriber's position (underscore: runtime-owned, not in the snapshot)."""


class BusPosition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The last bus event a subscriber has handled."""

    epoch: str
    """The supervisor epoch the sequence number belongs to."""
    seq: int
    """Bus sequence number of the last handled event."""


class ReplayRequest(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """Child to supervisor (control channel): send me the events I missed."""

    actor: str
    """Child name."""
    epoch: str
    """Epoch of ``after`` ("" when the child has never handled an event)."""
    after: int
    """Last sequence number handled in ``epoch``."""
    until: int
    """Sequence number of the child's own handshake ping: live delivery starts after it."""
    topics: tuple[str, ...]
    """The child's subscriptions (``*`` for all)."""


class ReplayedEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One event as the hub published it."""

    seq: int
    """Its bus sequence number."""
    data: bytes
    """Its encoded envelope, unchanged."""


class BusReplay(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """Supervisor to child: the missed events, in bus order."""

    epoch: str
    """The current supervisor epoch (the child's position from now on)."""
    events: tuple[ReplayedEvent, ...]
    """Events after the child's position up to its ping, on its topics."""
    evicted: int
    """Events (of any topic) in the requested range the hub no longer held: possibly lost."""


class BusEventsLost(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A restarted subscriber could not be given every event it missed (the hub's buffer had
    moved past its position). Recorded, never silent."""

    actor: str
    """The subscriber."""
    after: int
    """Its last handled sequence number."""
    evicted: int
    """How many bus events in the gap were gone (of any topic, so an upper bound)."""


def select(
    ring: Sequence[tuple[int, bytes, bytes]],
    after: int,
    until: int,
    topics: tuple[str, ...],
    evicted_upto: int,
) -> tuple[tuple[ReplayedEvent, ...], int]:
    """Events of ``ring`` (seq, topic, data) in ``(after, until]`` on ``topics``, and how many
    sequence numbers in that range were evicted from it (everything up to ``evicted_upto``;
    an upper bound on what is lost, as it counts other topics and pings too). Pure."""
    wanted = None if "*" in topics else {t.encode() + b"." for t in topics}
    out = tuple(
        ReplayedEvent(seq=seq, data=data)
        for seq, topic, data in ring
        if after < seq <= until and (wanted is None or topic in wanted)
    )
    return out, max(0, min(evicted_upto, until) - after)
