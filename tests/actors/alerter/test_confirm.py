"""Tests of the /resume confirmation (actors/alerter/confirm.py), row by row of its table."""

from __future__ import annotations

from actors.alerter.confirm import Confirmations, NotConfirmed, Pending

USER, CHAT = 1001, -100500


def test_the_right_code_in_time_in_the_same_chat_confirms_once() -> None:
    """The pending resume comes back with its reason, and is consumed."""
    c = Confirmations(window_s=60)
    c.ask(USER, CHAT, "all clear", "123456", now=0.0)
    found = c.confirm(USER, CHAT, "123456", now=59.9)
    assert isinstance(found, Pending)
    assert found.reason == "all clear"
    assert isinstance(c.confirm(USER, CHAT, "123456", now=60.0), NotConfirmed)


def test_nothing_pending_is_refused() -> None:
    """A /confirm without a /resume does nothing."""
    assert isinstance(Confirmations().confirm(USER, CHAT, "123456", now=0.0), NotConfirmed)


def test_an_expired_code_is_refused_and_forgotten() -> None:
    """At 60 s the code no longer works."""
    c = Confirmations(window_s=60)
    c.ask(USER, CHAT, "r", "123456", now=0.0)
    refused = c.confirm(USER, CHAT, "123456", now=60.0)
    assert isinstance(refused, NotConfirmed)
    assert "expired" in refused.reply
    assert c.waiting(now=60.0) == 0


def test_a_wrong_code_cancels_the_resume() -> None:
    """One wrong guess cancels: the right code afterwards does nothing."""
    c = Confirmations()
    c.ask(USER, CHAT, "r", "123456", now=0.0)
    assert isinstance(c.confirm(USER, CHAT, "000000", now=1.0), NotConfirmed)
    assert isinstance(c.confirm(USER, CHAT, "123456", now=2.0), NotConfirmed)


def test_another_users_code_does_not_confirm() -> None:
    """A code belongs to the user who asked: someone else sending it confirms nothing."""
    c = Confirmations()
    c.ask(USER, CHAT, "r", "123456", now=0.0)
    assert isinstance(c.confirm(2002, CHAT, "123456", now=1.0), NotConfirmed)
    assert isinstance(c.confirm(USER, CHAT, "123456", now=1.0), Pending)


def test_confirming_in_another_chat_is_refused_but_kept() -> None:
    """The confirmation must come from the chat where the resume was asked."""
    c = Confirmations()
    c.ask(USER, CHAT, "r", "123456", now=0.0)
    refused = c.confirm(USER, 42, "123456", now=1.0)
    assert isinstance(refused, NotConfirmed)
    assert isinstance(c.confirm(USER, CHAT, "123456", now=2.0), Pending)


def test_the_confirmed_command_is_the_one_asked() -> None:
    """A /reduce waiting for its code comes back as a reduce."""
    c = Confirmations()
    c.ask(USER, CHAT, "r", "123456", now=0.0, target="reduce")
    found = c.confirm(USER, CHAT, "123456", now=1.0)
    assert isinstance(found, Pending)
    assert found.target == "reduce"


def test_a_new_resume_replaces_the_old_code() -> None:
    """Only the latest code of a user works."""
    c = Confirmations()
    c.ask(USER, CHAT, "first", "111111", now=0.0)
    c.ask(USER, CHAT, "second", "222222", now=1.0)
    assert c.waiting(now=1.0) == 1
    found = c.confirm(USER, CHAT, "222222", now=2.0)
    assert isinstance(found, Pending)
    assert found.reason == "second"
