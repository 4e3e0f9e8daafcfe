"""Tests of the alert texts (actors/alerter/templates.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.alerter.severity import Severity
from actors.alerter.templates import MAX_CHARS, TEMPLATES, render, render_burst


def test_halt_by_operator_reads_well() -> None:
    """The kill-switch message leads with RED and says who halted and why."""
    text = render(
        Severity.RED,
        "TradingStateChanged",
        {
            "previous": "ACTIVE",
            "state": "HALTED",
            "source": "operator",
            "reason": "fat finger",
            "seq": 3,
        },
    )
    assert text == "🔴 RED · HALTED by operator: fat finger (was ACTIVE), halts row 3"


def test_fill_formats_numbers_without_float_noise() -> None:
    """Prices read as a person would write them."""
    text = render(
        Severity.INFO,
        "OrderFilled",
        {
            "side": "BUY",
            "quantity": 0.1 + 0.2,
            "instrument": "BTC-USD",
            "price": 65000.5,
            "position_after": 0.3,
            "realized_pnl": 0.0,
        },
    )
    assert text == ("🔵 INFO · filled BUY 0.3 BTC-USD @ 65000.5; position 0.3; realised PnL 0")


def test_config_change_lists_the_diff() -> None:
    """A config-change alert names both hashes (short) and one changed key per line."""
    text = render(
        Severity.INFO,
        "ConfigChanged",
        {"old_hash": "a" * 64, "new_hash": "b" * 64, "diff": ["breaker.max_drawdown_pct: 5 -> 3"]},
    )
    assert text == (
        "🔵 INFO · config changed since the last run (aaaaaaaaaaaa -> bbbbbbbbbbbb):\n"
        "  breaker.max_drawdown_pct: 5 -> 3"
    )


def test_anchor_and_operator_halt_read_well() -> None:
    """The daily anchor shows the day, the hash prefix and the last seq; an operator halt says
    who, why and what came of it."""
    anchor = render(
        Severity.INFO, "JournalAnchored", {"day": "2026-11-22", "final_hash": "c" * 64,
                                           "last_seq": 41},
    )
    assert anchor == "🔵 INFO · journal anchored for 2026-11-22: final hash cccccccccccccccc, " \
        "last entry #41"
    halt = render(
        Severity.RED, "AdminCommandReceived",
        {"command": "halt", "who": "ops@box", "reason": "runaway", "result": "ACTIVE -> HALTED"},
    )
    assert halt == "🔴 RED · operator halt by ops@box: runaway -> ACTIVE -> HALTED"


def test_restart_intensity_and_hang_read_well() -> None:
    """The supervisor's give-up names the limits and the child; a hang says what and how long."""
    text = render(Severity.RED, "RestartIntensityReached",
                  {"child": "execution", "intensity": 10, "period_s": 60.0})
    assert text.startswith("🔴 RED · restart intensity reached (10 restarts within 60 s); "
                           "last child to die: execution.")
    hang = render(Severity.YELLOW, "HangDetected", {"actor": "orchestrator", "pid": 7,
                  "kind": "stall", "for_s": 2.5, "iterations": 41})
    assert hang == ("🟡 YELLOW · orchestrator stalled (beating, no progress) for 2.5 s "
                    "(pid 7, iteration 41)")


def test_missing_fields_show_as_question_marks() -> None:
    """A template never raises on a missing field; the gap is visible instead."""
    assert render(Severity.YELLOW, "ChildTerminated", {"actor": "execution"}) == (
        "🟡 YELLOW · execution terminated: ? (exit status ?, pid ?)"
    )


def test_unknown_event_uses_the_fallback() -> None:
    """An event without a template still produces a line with its name and fields."""
    text = render(Severity.INFO, "SomethingNew", {"a": 1, "b": "two"})
    assert text == "🔵 INFO · SomethingNew: a=1, b=two"


def test_long_text_is_clipped_below_telegrams_limit() -> None:
    """Telegram refuses texts over 4096 characters; ours stop at MAX_CHARS."""
    text = render(Severity.INFO, "Anything", {"blob": "x" * 10_000})
    assert len(text) == MAX_CHARS
    assert text.endswith("…")


def test_burst_summary_names_count_total_and_top_reasons() -> None:
    """A coalesced burst says how many, since when, and the commonest reasons."""
    text = render_burst(
        Severity.YELLOW,
        "OrderRejected",
        count=499,
        window_s=60.0,
        total=500,
        since=0.0,
        top=[("max_notional", 300), ("price_collar", 150)],
        others=49,
    )
    assert text == (
        "🟡 YELLOW · 499 more orders rejected in the last 60 s (500 since 00:00:00 UTC); "
        "top reasons: max_notional x300, price_collar x150, other x49"
    )


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.lists(st.integers(), max_size=3),
)


@given(
    name=st.sampled_from([*TEMPLATES, "Unknown"]),
    fields=st.dictionaries(
        st.sampled_from(
            ["actor", "state", "reason", "source", "pause_until", "price", "head", "count", "seq"]
        ),
        _values,
    ),
    severity=st.sampled_from(list(Severity)),
)
def test_render_never_raises(name: str, fields: dict[str, object], severity: Severity) -> None:
    """Any combination of present, missing and oddly typed fields renders to a bounded text."""
    text = render(severity, name, fields)
    assert text.startswith(f"{severity.emoji} {severity.name} · ")
    assert len(text) <= MAX_CHARS
