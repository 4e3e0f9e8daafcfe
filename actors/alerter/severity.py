"""Which events are alert-worthy, how loudly (RED / YELLOW / INFO), and which are coalesced.

The policy is one table, :data:`RULES`, keyed by event type name. A rule resolves a severity from
the event's fields (``None`` means "not alert-worthy") and may name a coalescing window: events of
that kind arriving within the window become one summary message (see ``coalesce.py``).

Everything here is pure: it reads an event name and a dict of fields, never a socket or a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec


class Severity(enum.IntEnum):
    """How urgently a person must look; lower values are delivered first."""

    RED = 0
    """Trading stopped or integrity is in doubt: act now."""
    YELLOW = 1
    """Something degraded or recovered by itself: look soon."""
    INFO = 2
    """For the record: fills, config changes, daily anchors."""

    @property
    def emoji(self) -> str:
        """The coloured dot that leads the message, so the level shows in a notification."""
        return _EMOJI[self]


_EMOJI: Mapping[Severity, str] = {
    Severity.RED: "🔴",
    Severity.YELLOW: "🟡",
    Severity.INFO: "🔵",
}

Fields = Mapping[str, object]
"""An event's fields by name (``msgspec.structs.asdict`` of the event, or a plain dict)."""

Resolver = Callable[[Fields], "Severity | None"]
"""Maps an event's fields to a severity, or to None when this instance is not alert-worthy."""


@dataclass(frozen=True)
class AlertRule:
    """How one event type becomes an alert."""

    severity: Resolver
    """Severity of an instance of the event, or None to stay silent."""
    coalesce_window_s: float | None = None
    """When set, instances within this many seconds are summarised in one message."""
    coalesce_key: str | None = None
    """Field whose value groups a coalesced burst ("top reasons"); None counts only."""


def raw(value: object) -> object:
    """The wire value of ``value``: an enum's value, anything else unchanged.

    Events may arrive decoded (``TradingState.HALTED``) or as plain dicts (``"HALTED"``); the
    table matches either.
    """
    return value.value if isinstance(value, enum.Enum) else value


def _always(severity: Severity) -> Resolver:
    def resolve(_fields: Fields) -> Severity:
        return severity

    return resolve


def _by_field(name: str, table: Mapping[str, Severity]) -> Resolver:
    def resolve(fields: Fields) -> Severity | None:
        return table.get(str(raw(fields.get(name))))

    return resolve


def _restarted(fields: Fields) -> Severity | None:
    # A child's first start is routine; only a restart says something died.
    restarts = fields.get("restarts")
    if isinstance(restarts, int) and restarts > 0:
        return Severity.YELLOW
    return None


def _abnormal_exit(fields: Fields) -> Severity | None:
    # An ordered stop (drain) is routine; only a crash, a kill or an unexpected exit is news.
    return None if fields.get("reason") == "shutdown" else Severity.YELLOW


def _breaker_tripped(fields: Fields) -> Severity:
    # pause_until 0 means the trip escalated to a halt: only an operator resumes.
    return Severity.RED if fields.get("pause_until") == 0 else Severity.YELLOW


_ADMIN_SEVERITY: Mapping[str, Severity] = {
    # The kill switch used by an operator; reduce narrows trading; resume is for the record.
    "halt": Severity.RED,
    "reduce": Severity.YELLOW,
    "resume": Severity.INFO,
}

_HEARTBEAT_ACTION_SEVERITY: Mapping[str, Severity] = {
    "halt": Severity.RED,
    "sigterm": Severity.YELLOW,
    "sigkill": Severity.YELLOW,
    "skipped": Severity.YELLOW,
}

_STATE_SEVERITY: Mapping[str, Severity] = {
    "HALTED": Severity.RED,
    "PAUSED": Severity.YELLOW,
    "REDUCING": Severity.YELLOW,
    "ACTIVE": Severity.INFO,
}

REJECTION_WINDOW_S = 60.0
"""Rejected orders (or bad messages) within this many seconds become one summary."""
REFUSED_WINDOW_S = 10.0
"""Refused Telegram commands after the first within this many seconds become one summary (short:
the summary names who else tried; long enough that a stranger's flood is a few messages)."""
FILLS_WINDOW_S = 60.0
"""Fills within this many seconds (after the first, sent as it is) become one summary."""

def _state_changed(fields: Fields) -> Severity | None:
    # The supervisor repeats the current state to each child at its start (previous == state):
    # that is not a change, and an alert on every restart would be noise.
    if "previous" in fields and raw(fields.get("previous")) == raw(fields.get("state")):
        return None
    return _STATE_SEVERITY.get(str(raw(fields.get("state"))))


RULES: Mapping[str, AlertRule] = {
    # Kill switch and breaker escalation: trading is stopped.
    "TradingStateChanged": AlertRule(_state_changed),
    "BreakerHalted": AlertRule(_always(Severity.RED)),
    "RestartIntensityReached": AlertRule(_always(Severity.RED)),
    "TamperingDetected": AlertRule(_always(Severity.RED)),
    "StateLost": AlertRule(_always(Severity.RED)),
    "StateWriteFailed": AlertRule(_always(Severity.RED)),
    "FeedStale": AlertRule(_always(Severity.RED)),
    "FeedFresh": AlertRule(_always(Severity.INFO)),
    "FeedReconnected": AlertRule(_always(Severity.YELLOW)),
    "AdminCommandReceived": AlertRule(_by_field("command", _ADMIN_SEVERITY)),
    # Degraded, or recovered by itself (a trip that escalated to a halt is RED).
    "BreakerTripped": AlertRule(_breaker_tripped),
    "ChildStarted": AlertRule(_restarted),
    "ChildTerminated": AlertRule(_abnormal_exit),
    "HeartbeatMissed": AlertRule(_always(Severity.YELLOW)),
    "HangDetected": AlertRule(_always(Severity.YELLOW)),
    # The heartbeat actor killed a hung process (YELLOW) or asked for a halt (RED).
    "HeartbeatAction": AlertRule(_by_field("action", _HEARTBEAT_ACTION_SEVERITY)),
    "StrategyFailed": AlertRule(_always(Severity.YELLOW)),
    # A restarted subscriber could not be given every event it missed: an audit gap.
    "BusEventsLost": AlertRule(_always(Severity.YELLOW)),
    # Bad bytes can arrive by the thousand (a misconfigured peer): one summary per window.
    "BadMessageSeen": AlertRule(
        _always(Severity.YELLOW), coalesce_window_s=REJECTION_WINDOW_S, coalesce_key="socket"
    ),
    # Someone tried to steer the tree from Telegram and was refused; a flood is summarised,
    # naming the senders.
    "TelegramCommandRefused": AlertRule(
        _always(Severity.YELLOW), coalesce_window_s=REFUSED_WINDOW_S, coalesce_key="who"
    ),
    "OrderRejected": AlertRule(
        _always(Severity.YELLOW), coalesce_window_s=REJECTION_WINDOW_S, coalesce_key="code"
    ),
    # For the record. A strategy can fill dozens of orders a second; Telegram takes about one
    # message a second per chat: one by one, the fills would queue for ever behind each other.
    "OrderFilled": AlertRule(
        _always(Severity.INFO), coalesce_window_s=FILLS_WINDOW_S, coalesce_key="instrument"
    ),
    # The venue answered what could not be true, or asked us to wait: counted, one summary per
    # window (a broken venue can answer garbage to every poll).
    "VenueInputRejected": AlertRule(
        _always(Severity.YELLOW), coalesce_window_s=REJECTION_WINDOW_S, coalesce_key="what"
    ),
    "VenueRateLimited": AlertRule(
        _always(Severity.YELLOW), coalesce_window_s=REJECTION_WINDOW_S, coalesce_key="endpoint"
    ),
    "BreakerReset": AlertRule(_always(Severity.INFO)),
    "ConfigChanged": AlertRule(_always(Severity.INFO)),
    "JournalAnchored": AlertRule(_always(Severity.INFO)),
}
"""The alert policy: event type name -> rule. Events not listed are not alert-worthy."""


def severity_of(event_name: str, fields: Fields) -> Severity | None:
    """The severity of one event, or None when it is not alert-worthy.

    Args:
        event_name: The event's type name (``TradingStateChanged``).
        fields: The event's fields by name.

    Returns:
        The severity, or None for events the alerter ignores.
    """
    rule = RULES.get(event_name)
    return None if rule is None else rule.severity(fields)


def rule_for(event_name: str) -> AlertRule | None:
    """The rule for an event type, or None when the type never alerts."""
    return RULES.get(event_name)


def event_fields(event: msgspec.Struct) -> tuple[str, dict[str, object]]:
    """An event struct as ``(type name, fields)``, the shape the table and templates read.

    Args:
        event: A decoded bus event (any msgspec struct).

    Returns:
        The struct's class name and its fields (enums left as enums; :func:`raw` reads both).
    """
    return type(event).__name__, msgspec.structs.asdict(event)
