"""The journal actor: appends every event on the bus to the hash-chained daily journal.

Daily anchor: when the first entry of a new UTC day is appended, the finished day's final hash
is published as ``JournalAnchored`` (the supervisor keeps it in the halts store, the alerter
sends it with the day's report, ``actors/alerter/report.py``), so that a tail cut from that
day is detectable (a bare hash chain cannot see a missing tail). The last anchored day is
persisted; a day finished while the actor was down (or whose anchor a crash kept from going
out) is anchored at the next start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from actors import wire
from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.messages import Event, JournalAnchored, Message, TreeLiveness
from actors._runtime.trading import TradingStateChanged
from actors.journal.config import JournalConfig
from actors.journal.halts_seen import HALTS_SEEN_KEY, HaltsSeen
from actors.journal.layout import list_days, read_lines
from actors.journal.recent import RecentIds, tail_msg_ids
from actors.journal.verify import last_entry
from actors.journal.writer import JournalWriter

ANCHORED_KEY = "anchored"
"""Persisted: the last day (``YYYY-MM-DD``) whose anchor was published."""


class JournalActor(BaseActor):
    """Owns the journal files; the chain head is read back from them at start."""

    config_type: ClassVar[type[msgspec.Struct] | None] = JournalConfig
    subscriptions: ClassVar[tuple[str, ...]] = ("*",)
    replays_bus: ClassVar[bool] = True

    @classmethod
    def bus_topics(cls, config: Any) -> tuple[str, ...]:
        """Every event type of the codec but those the config excludes: complete by
        construction still (a type that is not in the codec cannot cross the bus), and an
        excluded event (a price tick, a heartbeat: ~70 a second at 50 orders a second) no
        longer wakes the journal only to be dropped."""
        excluded = set(config.exclude)
        return tuple(
            t.__name__ for t in wire.codec().types
            if issubclass(t, Event) and t.__name__ not in excluded
        )

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Open the journal: resume from its last good entry, recording a torn line if any."""
        cfg: JournalConfig = self.config
        self.exclude = set(cfg.exclude)
        self.writer = JournalWriter(self.state_dir, fsync=cfg.fsync)
        self.writer.open()
        self.recent = RecentIds([])
        self.iterations = self.writer.head.seq
        self.last_live: bool | None = None
        raw = snapshot.get(ANCHORED_KEY)
        self.anchored: str | None = msgspec.msgpack.decode(raw, type=str) if raw else None
        self.anchors_published = 0

    def summary(self) -> Summary:
        """Chain head as resumed."""
        head = self.writer.head
        return {"iterations": head.seq, "head": head.hash[:16], "anchored": self.anchored or ""}

    def on_ready(self) -> None:
        """Learn what was recorded last (a replay must not record it twice), then anchor every
        finished day whose anchor never went out (down over midnight, or a crash between the
        rollover and its publication)."""
        self.recent = RecentIds(tail_msg_ids(self.state_dir))
        current = self.writer.day
        for day in list_days(self.state_dir):
            if current is None or day >= current:
                break
            if self.anchored is not None and day <= self.anchored:
                continue
            last = last_entry(read_lines(self.state_dir, day))
            if last is not None:
                self._anchor(day, last.hash, last.seq)

    def _anchor(self, day: str, final_hash: str, last_seq: int) -> None:
        """Persist the day as anchored, then publish its final hash (after the commit)."""
        self.anchored = day
        self.anchors_published += 1
        self.put(ANCHORED_KEY, day)
        self.publish(JournalAnchored(day=day, final_hash=final_hash, last_seq=last_seq))

    def on_event(self, env: Envelope[Message]) -> None:
        """Append one event (liveness verdicts only when they change)."""
        msg = env.payload
        name = type(msg).__name__
        if name in self.exclude or env.msg_id in self.recent:
            return  # excluded, or replayed after a restart though already recorded
        if isinstance(msg, TreeLiveness):
            if msg.live == self.last_live:
                return
            self.last_live = msg.live
        fields: dict[str, Any] = {"sender": env.sender, "msg_id": env.msg_id}
        fields.update(msgspec.to_builtins(msg))
        fields.pop("type", None)
        before_day, before = self.writer.day, self.writer.head
        try:
            self.writer.append(name, fields, at=env.sent_at)
        except ValueError as exc:
            # A value JSON cannot carry (NaN, Inf): record that it happened, never drop it.
            self.writer.append(
                "UnjournalableEvent",
                {"event": name, "error": str(exc), "repr": repr(msg)[:2000], "msg_id": env.msg_id},
                at=env.sent_at,
            )
        self.recent.add(env.msg_id)
        self.iterations = self.writer.head.seq
        if isinstance(msg, TradingStateChanged) and msg.row_hash:
            # In the commit that acknowledges this event: a start compares it with the store.
            self.put(HALTS_SEEN_KEY, HaltsSeen(msg.seq, msg.state.value, msg.row_hash,
                                               self.writer.day or ""))
        if before_day is not None and self.writer.day != before_day and before.seq > 0:
            # Rollover: the entry before this one was the finished day's last.
            self._anchor(before_day, before.hash, before.seq)

    def on_batch_end(self) -> None:
        """Group commit: one fsync for the whole batch (with the ``batch`` policy)."""
        self.writer.flush()

    def on_drain(self) -> bool:
        """Flush and close: the journal records the last word."""
        self.writer.flush()
        return True

    def on_stop(self) -> None:
        """pykka hook: release the file lock."""
        self.writer.close()

