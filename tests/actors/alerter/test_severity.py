"""Tests of the alert policy table (actors/alerter/severity.py)."""

from __future__ import annotations

import pytest

from actors._runtime.messages import ChildStarted
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.alerter.severity import RULES, Severity, event_fields, severity_of


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("HALTED", Severity.RED),
        ("PAUSED", Severity.YELLOW),
        ("REDUCING", Severity.YELLOW),
        ("ACTIVE", Severity.INFO),
        (TradingState.HALTED, Severity.RED),
        (TradingState.ACTIVE, Severity.INFO),
    ],
)
def test_trading_state_severity_follows_the_new_state(state: object, expected: Severity) -> None:
    """A kill-switch halt is RED, pause/reduce YELLOW, resume INFO, whether the state arrives as
    an enum or as its wire string."""
    previous = "HALTED" if str(getattr(state, "value", state)) == "ACTIVE" else "ACTIVE"
    assert severity_of("TradingStateChanged", {"state": state, "previous": previous}) == expected


def test_a_repeated_state_is_not_alert_worthy() -> None:
    """The supervisor repeats the current state to each child at its start (previous == state);
    that is no change, so it raises no alert (an alert per restart would be noise)."""
    fields = {"state": "ACTIVE", "previous": TradingState.ACTIVE, "source": "supervisor"}
    assert severity_of("TradingStateChanged", fields) is None
    assert severity_of("TradingStateChanged", {"state": "HALTED", "previous": "HALTED"}) is None


@pytest.mark.parametrize(
    ("command", "expected"),
    [("halt", Severity.RED), ("reduce", Severity.YELLOW), ("resume", Severity.INFO)],
)
def test_operator_commands(command: str, expected: Severity) -> None:
    """A kill-switch use by an operator (halt) is RED; reduce YELLOW; resume INFO."""
    fields = {"command": command, "who": "ops", "reason": "r", "result": "x"}
    assert severity_of("AdminCommandReceived", fields) is expected


def test_a_breaker_trip_that_escalated_to_a_halt_is_red() -> None:
    """pause_until 0 means the trip became a halt (only an operator resumes): RED, not YELLOW."""
    assert severity_of("BreakerTripped", {"rule": "drawdown", "pause_until": 0.0}) is Severity.RED
    assert severity_of("BreakerTripped", {"rule": "d", "pause_until": 1e9}) is Severity.YELLOW


@pytest.mark.parametrize(
    ("name", "fields", "expected"),
    [
        ("RestartIntensityReached", {}, Severity.RED),
        ("TamperingDetected", {"store": "halts"}, Severity.RED),
        ("BreakerHalted", {}, Severity.RED),
        ("BreakerTripped", {"rule": "drawdown"}, Severity.YELLOW),
        ("ChildTerminated", {"actor": "execution", "reason": "killed"}, Severity.YELLOW),
        ("ChildTerminated", {"actor": "execution", "reason": "crashed"}, Severity.YELLOW),
        ("ChildTerminated", {"actor": "execution", "reason": "shutdown"}, None),
        ("HeartbeatMissed", {"actor": "orchestrator"}, Severity.YELLOW),
        ("HangDetected", {"actor": "orchestrator", "kind": "stall"}, Severity.YELLOW),
        ("HeartbeatAction", {"action": "sigkill", "target": "orchestrator"}, Severity.YELLOW),
        ("HeartbeatAction", {"action": "halt", "target": "orchestrator"}, Severity.RED),
        ("OrderRejected", {"code": "max_notional"}, Severity.YELLOW),
        ("ChildStarted", {"actor": "breaker", "restarts": 2}, Severity.YELLOW),
        ("ChildStarted", {"actor": "breaker", "restarts": 0}, None),
        ("OrderFilled", {}, Severity.INFO),
        ("ConfigChanged", {}, Severity.INFO),
        ("JournalAnchored", {}, Severity.INFO),
        ("Heartbeat", {"actor": "journal"}, None),
        ("PriceTick", {}, None),
    ],
)
def test_table_rows(name: str, fields: dict[str, object], expected: Severity | None) -> None:
    """Each event type maps to the documented level; routine events are not alert-worthy."""
    assert severity_of(name, fields) == expected


def test_unknown_state_is_not_alert_worthy() -> None:
    """A state the table does not know yields no alert rather than an exception."""
    assert severity_of("TradingStateChanged", {"state": "BOGUS"}) is None
    assert severity_of("TradingStateChanged", {}) is None


def test_red_sorts_first() -> None:
    """Severity order is delivery order: RED before YELLOW before INFO."""
    assert sorted([Severity.INFO, Severity.RED, Severity.YELLOW]) == [
        Severity.RED,
        Severity.YELLOW,
        Severity.INFO,
    ]


def test_only_floods_are_coalesced() -> None:
    """Floods come from rejected orders, bad bytes, a busy strategy's fills, a venue that
    answers garbage or rate-limits every call, and a stranger hammering the bot with commands;
    every other type alerts one by one."""
    coalesced = {name for name, rule in RULES.items() if rule.coalesce_window_s is not None}
    assert coalesced == {"OrderRejected", "BadMessageSeen", "OrderFilled", "VenueInputRejected",
                         "VenueRateLimited", "TelegramCommandRefused"}
    keys = {name: rule.coalesce_key for name, rule in RULES.items() if name in coalesced}
    assert keys == {"OrderRejected": "code", "BadMessageSeen": "socket",
                    "OrderFilled": "instrument", "VenueInputRejected": "what",
                    "VenueRateLimited": "endpoint", "TelegramCommandRefused": "who"}


def test_a_refused_telegram_command_is_yellow() -> None:
    """Someone not allowed (or an edit, a forward) tried to command the bot: YELLOW."""
    assert severity_of("TelegramCommandRefused", {"who": "telegram:1"}) is Severity.YELLOW
    assert severity_of("TelegramCommandAccepted", {"who": "telegram:1"}) is None


def test_event_fields_reads_a_struct() -> None:
    """A decoded bus event becomes (type name, fields) that the table classifies."""
    event = TradingStateChanged(
        previous=TradingState.ACTIVE,
        state=TradingState.HALTED,
        source="operator",
        reason="manual",
        seq=7,
    )
    name, fields = event_fields(event)
    assert name == "TradingStateChanged"
    assert severity_of(name, fields) is Severity.RED
    assert severity_of(*event_fields(ChildStarted(actor="x", pid=1, restarts=1))) is Severity.YELLOW
