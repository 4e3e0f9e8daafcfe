"""Tests of the Telegram command rules (actors/alerter/commands.py): allowlists, edits, forwards,
parsing and bounds."""

from __future__ import annotations

import pytest

from actors.alerter.commands import (
    MAX_REASON,
    Allowlist,
    Command,
    Incoming,
    Refused,
    Verb,
    is_command,
    parse,
    screen,
    who,
)

CHAT, USER = -100500, 1001
ALLOW = Allowlist(frozenset({CHAT}), frozenset({USER}))


def _msg(chat: int = CHAT, user: int | None = USER, **kw: object) -> Incoming:
    return Incoming(update_id=1, chat_id=chat, user_id=user, username="alice",
                    text=str(kw.pop("text", "/status")), **kw)  # type: ignore[arg-type]


def test_an_allowed_user_in_an_allowed_chat_passes() -> None:
    """Both ids on their lists: the message may be acted on."""
    assert screen(_msg(), ALLOW) is None


@pytest.mark.parametrize(
    ("msg", "why"),
    [
        (_msg(chat=777), "chat 777 not allowed"),
        (_msg(user=2002), "user 2002 not allowed"),
        (_msg(user=None), "no sender (a channel post)"),
        (_msg(chat=USER), f"chat {USER} not allowed"),  # an allowed user's private chat
        (_msg(edited=True), "edited message"),
        (_msg(forwarded=True), "forwarded message"),
    ],
)
def test_refusals_name_their_cause(msg: Incoming, why: str) -> None:
    """A chat not listed, a user not listed (even in an allowed group chat), a channel post with
    no sender, an edit and a forward are each refused with their own cause and a reply."""
    refused = screen(msg, ALLOW)
    assert refused is not None
    assert refused.why == why
    assert refused.reply.startswith("Refused:")


def test_a_stranger_is_refused_before_any_other_check() -> None:
    """An edited message from a stranger is refused as the stranger's: nothing else is told."""
    refused = screen(_msg(user=2002, edited=True), ALLOW)
    assert refused is not None
    assert refused.why == "user 2002 not allowed"


def test_empty_lists_let_nobody_in() -> None:
    """An empty allowlist refuses everyone."""
    assert screen(_msg(), Allowlist(frozenset(), frozenset())) is not None


def test_who_names_the_telegram_user() -> None:
    """The recorded ``who`` carries the user id and username."""
    assert who(_msg()) == "telegram:1001 @alice"
    assert who(Incoming(1, CHAT, 5, "", "/help")) == "telegram:5"


@pytest.mark.parametrize(
    ("text", "verb", "argument"),
    [
        ("/status", Verb.STATUS, ""),
        ("/positions", Verb.POSITIONS, ""),
        ("/halt feed looks wrong", Verb.HALT, "feed looks wrong"),
        ("/HALT@quantfund_bot  spread\n blew out ", Verb.HALT, "spread blew out"),
        ("/reduce too much risk", Verb.REDUCE, "too much risk"),
        ("/resume all clear", Verb.RESUME, "all clear"),
        ("/confirm 123456", Verb.CONFIRM, "123456"),
        ("/help", Verb.HELP, ""),
    ],
)
def test_commands_parse(text: str, verb: Verb, argument: str) -> None:
    """Each command is recognised, addressed to this bot or to none, whitespace collapsed."""
    assert parse(text, "quantfund_bot") == Command(verb, argument)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("/halt", "/halt without a reason"),
        ("/reduce   ", "/reduce without a reason"),
        ("/resume", "/resume without a reason"),
        ("/confirm", "/confirm without a code"),
        ("/launch now", "unknown command /launch"),
        ("/halt@other_bot stop", "addressed to @other_bot"),
    ],
)
def test_malformed_commands_are_refused(text: str, why: str) -> None:
    """A state change without a reason, a confirm without a code, an unknown command and a
    command for another bot are refused, with a reply that says what to send instead."""
    parsed = parse(text, "quantfund_bot")
    assert isinstance(parsed, Refused)
    assert parsed.why == why
    assert "Refused" in parsed.reply


def test_a_10_kb_reason_is_cut_and_the_cut_counted() -> None:
    """A 10 kB reason is kept to MAX_REASON characters; the rest is counted for the reply."""
    parsed = parse("/halt " + "x" * 10_240)
    assert isinstance(parsed, Command)
    assert len(parsed.argument) == MAX_REASON
    assert parsed.truncated == 10_240 - MAX_REASON


def test_an_unknown_command_name_is_bounded_in_the_reply() -> None:
    """A 10 kB command name does not come back whole in the refusal."""
    parsed = parse("/" + "y" * 10_240)
    assert isinstance(parsed, Refused)
    assert len(parsed.reply) < 1000


def test_only_slash_text_is_a_command() -> None:
    """Group chatter is not for the bot; a command is."""
    assert is_command("  /status")
    assert not is_command("status please")
