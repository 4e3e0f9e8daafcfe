"""Telegram commands as values: who may send them, what a message asks, and the reply to a refusal.

Pure: no Telegram, no sockets, no clock of its own. ``poller.py`` turns a Bot API update into an
:class:`Incoming`; :func:`screen` decides whether it may be acted on (allowlists, edited and
forwarded messages), :func:`parse` what it asks. A command counts only from an allowed chat
**and** an allowed user: a group chat on the list does not let every member in, and a user on
the list cannot steer the tree from a chat that is not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_REASON = 500
"""Longest reason kept, in characters; a longer one is cut here and the reply says so."""


class Verb(enum.StrEnum):
    """What a command asks; raw values are the command names (``/halt``)."""

    STATUS = "status"
    POSITIONS = "positions"
    HALT = "halt"
    REDUCE = "reduce"
    RESUME = "resume"
    CONFIRM = "confirm"
    HELP = "help"


NEEDS_REASON = frozenset({Verb.HALT, Verb.REDUCE, Verb.RESUME})
"""Commands that change the trading state: each is recorded with its reason."""

HELP_TEXT = (
    "Quantfund commands:\n"
    "/status - trading state and the tree's health\n"
    "/positions - positions and open orders\n"
    "/halt <reason> - stop all new trading\n"
    "/reduce <reason> - allow only exposure-reducing orders\n"
    "/resume <reason> - back to ACTIVE; asks for /confirm <code> within 60 s\n"
    "/confirm <code> - confirm a /resume\n"
    "/help - this list"
)


@dataclass(frozen=True)
class Incoming:
    """One message the bot received, reduced to what the rules read."""

    update_id: int
    """Telegram's update id (the poll offset follows it)."""
    chat_id: int
    """Chat it was sent in."""
    user_id: int | None
    """Sender (None for a channel post, which has no user)."""
    username: str
    """Sender's @username, or '' when it has none."""
    text: str
    """Message text ('' for a photo, a sticker...)."""
    edited: bool = False
    """An edit of an earlier message."""
    forwarded: bool = False
    """Forwarded from someone else (the sender did not write it)."""


@dataclass(frozen=True)
class Allowlist:
    """Chats and users whose commands count."""

    chat_ids: frozenset[int]
    """Allowed chats."""
    user_ids: frozenset[int]
    """Allowed users."""


@dataclass(frozen=True)
class Refused:
    """A message not acted on: what the alert says, and the reply."""

    why: str
    """Short cause for the alert and the journal (``user not allowed``)."""
    reply: str
    """What the bot answers in the chat."""


@dataclass(frozen=True)
class Command:
    """A command to act on."""

    verb: Verb
    """What it asks."""
    argument: str
    """Its reason (or the code of ``/confirm``), whitespace collapsed, at most MAX_REASON."""
    truncated: int = 0
    """Characters cut from the reason (0 when it fitted)."""


def who(msg: Incoming) -> str:
    """The Telegram sender as recorded in the halts store and the journal."""
    name = f" @{msg.username}" if msg.username else ""
    return f"telegram:{msg.user_id if msg.user_id is not None else 'unknown'}{name}"


def screen(msg: Incoming, allow: Allowlist) -> Refused | None:
    """Whether ``msg`` may be acted on at all; None when it may.

    Order matters: a stranger learns nothing about the commands, and an allowed user is told
    precisely why an edit or a forward did not count.
    """
    if msg.chat_id not in allow.chat_ids:
        return Refused(f"chat {msg.chat_id} not allowed",
                       f"Refused: this chat ({msg.chat_id}) may not command this bot.")
    if msg.user_id is None:
        return Refused("no sender (a channel post)",
                       "Refused: a message without a sender (a channel post) may not command "
                       "this bot.")
    if msg.user_id not in allow.user_ids:
        return Refused(f"user {msg.user_id} not allowed",
                       f"Refused: user {msg.user_id} may not command this bot.")
    if msg.edited:
        return Refused("edited message", "Refused: an edited message is never acted on; "
                       "send the command again as a new message.")
    if msg.forwarded:
        return Refused("forwarded message", "Refused: a forwarded message is never acted on; "
                       "type the command yourself.")
    return None


def is_command(text: str) -> bool:
    """Whether ``text`` is addressed to a bot (chatter in an allowed group is ignored)."""
    return text.lstrip().startswith("/")


def parse(text: str, bot_username: str = "") -> Command | Refused:
    """The command in ``text`` (``/halt@this_bot reason`` included).

    Args:
        text: The message text, starting with ``/``.
        bot_username: This bot's username: ``/cmd@other_bot`` is refused as not ours.

    Returns:
        The command, or why it is refused (unknown, another bot's, a missing reason or code).
    """
    head, _, rest = text.strip().partition(" ")
    name, _, addressee = head.removeprefix("/").partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return Refused(f"addressed to @{addressee}", f"Refused: that command is for @{addressee}.")
    try:
        verb = Verb(name.lower())
    except ValueError:
        shown = name[:32] + ("..." if len(name) > 32 else "")
        return Refused(f"unknown command /{shown}",
                       f"Refused: unknown command /{shown}.\n\n{HELP_TEXT}")
    argument = " ".join(rest.split())
    cut = max(0, len(argument) - MAX_REASON)
    argument = argument[:MAX_REASON]
    if verb in NEEDS_REASON and not argument:
        return Refused(f"/{verb.value} without a reason",
                       f"Refused: /{verb.value} needs a reason, e.g. /{verb.value} feed looks "
                       "wrong. Nothing changed.")
    if verb is Verb.CONFIRM and not argument:
        return Refused("/confirm without a code",
                       "Refused: /confirm needs the code the bot sent after /resume.")
    return Command(verb, argument, truncated=cut)
