"""What the heartbeat actor persists (arrival times are monotonic and are not kept)."""

from __future__ import annotations

import msgspec


class BeatRecord(msgspec.Struct):
    """The last beat seen from one actor."""

    pid: int = 0
    seq: int = 0
    iterations: int = 0
    beats: int = 0


class Beats(msgspec.Struct):
    """Per-actor records, how many verdicts were published and how many actions taken."""

    actors: dict[str, BeatRecord] = msgspec.field(default_factory=dict)
    verdicts: int = 0
    actions: int = 0
