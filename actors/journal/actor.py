"""The journal actor: appends every event on the bus to the hash-chained daily journal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.messages import Message, TreeLiveness
from actors.journal.config import JournalConfig
from actors.journal.writer import JournalWriter


class JournalActor(BaseActor):
    """Owns the journal files; the chain head is read back from them at start."""

    config_type: ClassVar[type[msgspec.Struct] | None] = JournalConfig
    subscriptions: ClassVar[tuple[str, ...]] = ("*",)

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Open the journal: resume from its last good entry, recording a torn line if any."""
        cfg: JournalConfig = self.config
        self.exclude = set(cfg.exclude)
        self.writer = JournalWriter(self.state_dir, fsync=cfg.fsync)
        self.writer.open()
        self.iterations = self.writer.head.seq
        self.last_live: bool | None = None

    def summary(self) -> Summary:
        """Chain head as resumed."""
        head = self.writer.head
        return {"iterations": head.seq, "head": head.hash[:16]}

    def on_event(self, env: Envelope[Message]) -> None:
        """Append one event (liveness verdicts only when they change)."""
        msg = env.payload
        name = type(msg).__name__
        if name in self.exclude:
            return
        if isinstance(msg, TreeLiveness):
            if msg.live == self.last_live:
                return
            self.last_live = msg.live
        fields: dict[str, Any] = {"sender": env.sender, "msg_id": env.msg_id}
        fields.update(msgspec.to_builtins(msg))
        fields.pop("type", None)
        try:
            self.writer.append(name, fields, at=env.sent_at)
        except ValueError as exc:
            # A value JSON cannot carry (NaN, Inf): record that it happened, never drop it.
            self.writer.append(
                "UnjournalableEvent", {"event": name, "error": str(exc), "repr": repr(msg)[:2000]},
                at=env.sent_at,
            )
        self.iterations = self.writer.head.seq

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
