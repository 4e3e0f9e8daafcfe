"""Tests of the Telegram desk (actors/alerter/desk.py) with no tree running: refusals are
counted, alerted and recorded; /halt still reaches the halts store (a real SQLite file) when no
supervisor answers; a looser command changes nothing then."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actors._runtime.messages import Event
from actors._runtime.trading import TradingState
from actors.alerter.commands import Allowlist, Incoming
from actors.alerter.desk import Desk
from actors.alerter.messages import TelegramCommandAccepted, TelegramCommandRefused
from supervisor.halts import HaltsStore

pytestmark = pytest.mark.timeout(20)

CHAT, USER = -100500, 1001


class _Seen:
    def __init__(self) -> None:
        self.alerts: list[TelegramCommandRefused] = []
        self.records: list[Event] = []

    async def alert(self, event: TelegramCommandRefused) -> None:
        self.alerts.append(event)


def _desk(tmp_path: Path, seen: _Seen) -> Desk:
    (tmp_path / "run").mkdir(exist_ok=True)
    return Desk(allow=Allowlist(frozenset({CHAT}), frozenset({USER})), run_dir=tmp_path / "run",
                state_dir=tmp_path / "state", alert=seen.alert, record=seen.records.append,
                new_code=lambda: "424242")


def _msg(text: str, user: int = USER, **kw: bool) -> Incoming:
    return Incoming(update_id=1, chat_id=CHAT, user_id=user, username="alice", text=text, **kw)


def _reply(desk: Desk, text: str) -> str:
    """The desk's reply to an allowed user's ``text`` (there must be one)."""
    reply = asyncio.run(desk.handle(_msg(text)))
    assert reply is not None
    return reply


def _rows(state: Path) -> list[tuple[str | None, str, str]]:
    store = HaltsStore.open(state / "halts.sqlite")
    try:
        return [(r.state.value if r.state else None, r.who, r.reason) for r in store.rows()]
    finally:
        store.close()


def test_refusals_are_counted_alerted_and_recorded(tmp_path: Path) -> None:
    """Each refusal raises the count, goes to the alert (naming who) and to the journal record;
    a stranger's /halt changes nothing."""
    seen = _Seen()
    desk = _desk(tmp_path, seen)
    replies = [asyncio.run(desk.handle(m)) for m in (
        _msg("/halt x", user=2002), _msg("/halt x", edited=True), _msg("/halt x", forwarded=True))]
    assert all(r is not None and r.startswith("Refused") for r in replies)
    assert desk.refused == 3
    assert [a.refused_total for a in seen.alerts] == [1, 2, 3]
    assert seen.alerts[0].who == "telegram:2002 @alice"
    assert seen.records == seen.alerts
    assert not (tmp_path / "state" / "halts.sqlite").exists()


def test_chatter_in_an_allowed_chat_gets_no_reply(tmp_path: Path) -> None:
    """Text that is not a command, from an allowed user, is neither answered nor counted."""
    seen = _Seen()
    desk = _desk(tmp_path, seen)
    assert asyncio.run(desk.handle(_msg("good morning"))) is None
    assert (desk.refused, desk.accepted) == (0, 0)


def test_halt_without_a_supervisor_is_written_to_the_halts_store(tmp_path: Path) -> None:
    """No admin socket: /halt writes HALTED with the Telegram user as who, and says so; a second
    /halt finds it HALTED already; each is recorded for the journal."""
    seen = _Seen()
    desk = _desk(tmp_path, seen)
    reply = _reply(desk, "/halt feed dead")
    assert "did not answer" in reply
    assert _rows(tmp_path / "state")[-1] == (TradingState.HALTED.value, "telegram:1001 @alice",
                                             "feed dead")
    again = _reply(desk, "/halt still dead")
    assert "HALTED already" in again
    assert len(_rows(tmp_path / "state")) == 1
    assert [type(r) for r in seen.records] == [TelegramCommandAccepted] * 2


def test_reduce_out_of_a_halt_waits_for_the_code_and_never_goes_to_the_store(
    tmp_path: Path,
) -> None:
    """HALTED in the store: /reduce would lift the stop, so it asks for the code like /resume;
    confirmed without a supervisor, nothing changes (only a halt is written by hand)."""
    seen = _Seen()
    desk = _desk(tmp_path, seen)
    _reply(desk, "/halt stop")
    asked = _reply(desk, "/reduce partial")
    assert "/confirm 424242" in asked
    assert "REDUCING" in asked
    done = _reply(desk, "/confirm 424242")
    assert "did not answer" in done
    assert "Nothing changed" in done
    assert len(_rows(tmp_path / "state")) == 1


def test_resume_asks_for_the_code_and_only_the_code_goes_through(tmp_path: Path) -> None:
    """/resume changes nothing and gives the code; /confirm with it reaches for the supervisor
    (absent here: nothing changed)."""
    seen = _Seen()
    desk = _desk(tmp_path, seen)
    asked = _reply(desk, "/resume all clear")
    assert "/confirm 424242" in asked
    done = _reply(desk, "/confirm 424242")
    assert "did not answer" in done
    assert "Nothing changed" in done
    assert not (tmp_path / "state" / "halts.sqlite").exists()


def test_a_10_kb_reason_is_cut_and_the_reply_says_so(tmp_path: Path) -> None:
    """The halts store gets the first 500 characters; the reply names the cut."""
    seen = _Seen()
    desk = _desk(tmp_path, seen)
    reply = _reply(desk, "/halt " + "y" * 10_240)
    assert "cut to its first 500 characters: 9740 more were dropped" in reply
    assert _rows(tmp_path / "state")[-1][2] == "y" * 500
