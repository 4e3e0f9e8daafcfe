"""The heartbeat actor: records every actor's beats and publishes whether the tree is live."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import ClassVar

import msgspec

from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.messages import Heartbeat, Message, TreeLiveness
from actors.heartbeat.config import HeartbeatConfig
from actors.heartbeat.messages import HeartbeatMissed


class BeatRecord(msgspec.Struct):
    """The last beat seen from one actor."""

    pid: int = 0
    seq: int = 0
    iterations: int = 0
    beats: int = 0


class Beats(msgspec.Struct):
    """Persisted: per-actor records and how many verdicts were published."""

    actors: dict[str, BeatRecord] = msgspec.field(default_factory=dict)
    verdicts: int = 0


class HeartbeatActor(BaseActor):
    """Judges liveness from beats; a silent actor makes the tree not live."""

    config_type: ClassVar[type[msgspec.Struct] | None] = HeartbeatConfig
    subscriptions: ClassVar[tuple[str, ...]] = ("Heartbeat",)

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the beat records; arrival times start afresh (monotonic clocks do not persist)."""
        raw = snapshot.get("beats")
        self.beats = msgspec.msgpack.decode(raw, type=Beats) if raw else Beats()
        self.iterations = self.beats.verdicts
        self.started = time.monotonic()
        self.seen_at: dict[str, float] = {}
        self.missing: set[str] = set()
        self.last_live: bool | None = None

    def summary(self) -> Summary:
        """Verdicts published and actors known."""
        return {"iterations": self.beats.verdicts, "actors_seen": len(self.beats.actors)}

    def tick_interval(self) -> float | None:
        """Verdict pace."""
        interval: float = self.config.check_interval_s
        return interval

    def on_event(self, env: Envelope[Message]) -> None:
        """Record a beat."""
        beat = env.payload
        if not isinstance(beat, Heartbeat):
            return
        rec = self.beats.actors.setdefault(beat.actor, BeatRecord())
        rec.pid, rec.seq, rec.iterations = beat.pid, beat.seq, beat.iterations
        rec.beats += 1
        self.seen_at[beat.actor] = time.monotonic()

    def on_tick(self, now: float) -> None:
        """Publish a verdict: live unless a watched actor is silent beyond its allowance."""
        cfg: HeartbeatConfig = self.config
        allowance = cfg.missed_beats * cfg.heartbeat_interval_s
        mono = time.monotonic()
        stale = []
        for name in cfg.watch:
            last = self.seen_at.get(name, self.started)
            if mono - last > allowance:
                stale.append(name)
                if name not in self.missing:
                    self.publish(HeartbeatMissed(actor=name, silent_s=round(mono - last, 3)))
        self.missing = set(stale)
        live = not stale
        self.beats.verdicts += 1
        self.iterations = self.beats.verdicts
        self.publish(TreeLiveness(live=live, stale=stale))
        self.put("beats", self.beats)
        self.last_live = live
