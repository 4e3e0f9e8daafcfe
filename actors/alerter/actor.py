"""The alerter actor: turns alert-worthy events into alerts (logged until Telegram is wired)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import msgspec

from actors._runtime import log
from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.messages import Message
from actors.alerter.config import AlerterConfig
from actors.alerter.severity import severity_of
from actors.alerter.templates import render


class Counts(msgspec.Struct):
    """Alerts raised, by severity (persisted)."""

    by_severity: dict[str, int] = msgspec.field(default_factory=dict)
    total: int = 0


class AlerterActor(BaseActor):
    """Subscribes to the alert-worthy events and raises one alert each."""

    config_type: ClassVar[type[msgspec.Struct] | None] = AlerterConfig
    subscriptions: ClassVar[tuple[str, ...]] = (
        "TradingStateChanged",
        "ChildStarted",
        "ChildTerminated",
        "BreakerTripped",
        "BreakerReset",
        "HeartbeatMissed",
        "OrderRejected",
        "OrderFilled",
        "StrategyFailed",
        "BadMessageSeen",
    )

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the counters."""
        raw = snapshot.get("counts")
        self.counts = msgspec.msgpack.decode(raw, type=Counts) if raw else Counts()
        self.iterations = self.counts.total
        self.log = log.get("alerter")
        self.log.info("telegram_off", reason="no token wired yet; alerts are logged")

    def summary(self) -> Summary:
        """Alert counts."""
        return {"iterations": self.counts.total, **self.counts.by_severity}

    def on_event(self, env: Envelope[Message]) -> None:
        """Log an alert for an alert-worthy event."""
        msg = env.payload
        name = type(msg).__name__
        fields = msgspec.to_builtins(msg)
        severity = severity_of(name, fields)
        if severity is None:
            return
        self.counts.total += 1
        self.iterations = self.counts.total
        key = severity.name
        self.counts.by_severity[key] = self.counts.by_severity.get(key, 0) + 1
        self.log.info("alert", severity=key, text=render(severity, name, fields))
        self.put("counts", self.counts)
