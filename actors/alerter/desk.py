"""The operator's desk on Telegram: one received message in, at most one reply out.

Ties the pure rules (``commands``, ``confirm``) to what a command does (``operator``), and
reports both ways: every refusal is counted and alerted YELLOW (``TelegramCommandRefused``,
through the outbox directly, so it is sent even when the bus is not), every message acted on is
recorded for the journal (``TelegramCommandAccepted``, published by the actor). The blocking
work (admin socket, halts store) runs on a thread: the runtime's loop, and the alert sender on
it, never wait for the supervisor.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from actors._runtime.messages import Event
from actors._runtime.trading import TradingState
from actors.alerter import operator
from actors.alerter.commands import (
    HELP_TEXT,
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
from actors.alerter.confirm import Confirmations, NotConfirmed
from actors.alerter.messages import TelegramCommandAccepted, TelegramCommandRefused

Alert = Callable[[TelegramCommandRefused], Awaitable[None]]
"""Stores a refusal's alert in the outbox (committed when it returns)."""
Record = Callable[[Event], None]
"""Hands an event to the actor, which publishes it for the journal."""

TEXT_SHOWN = 80
"""Characters of a refused message kept in its alert."""


@dataclass
class Desk:
    """Decides and carries out each message; counts the refusals."""

    allow: Allowlist
    """Who may command."""
    run_dir: Path
    """The tree's socket directory (the admin socket)."""
    state_dir: Path
    """The state directory (the halts store, for ``/halt`` without a supervisor)."""
    alert: Alert
    """Where refusals are alerted."""
    record: Record
    """Where events for the journal go."""
    bot_username: str = ""
    """This bot's username (``/cmd@other_bot`` is not ours)."""
    clock: Callable[[], float] = time.monotonic
    """Clock of the confirmation window."""
    new_code: Callable[[], str] = field(default=lambda: f"{secrets.randbelow(10**6):06d}")
    """Source of confirmation codes."""
    confirmations: Confirmations = field(default_factory=Confirmations)
    """Loosening commands waiting for their ``/confirm``."""
    refused: int = 0
    """Messages refused since start."""
    accepted: int = 0
    """Commands acted on since start."""

    async def handle(self, msg: Incoming) -> str | None:
        """Act on ``msg``; the reply to send in its chat, or None to stay silent."""
        refusal = screen(msg, self.allow)
        if refusal is None:
            if not is_command(msg.text):
                return None  # chatter in an allowed group chat is not for the bot
            parsed = parse(msg.text, self.bot_username)
            if isinstance(parsed, Refused):
                refusal = parsed
            else:
                return await self._act(msg, parsed)
        await self._refuse(msg, refusal)
        return refusal.reply

    async def _refuse(self, msg: Incoming, refusal: Refused) -> None:
        self.refused += 1
        text = msg.text[:TEXT_SHOWN] + ("..." if len(msg.text) > TEXT_SHOWN else "")
        event = TelegramCommandRefused(who=who(msg), chat_id=msg.chat_id, text=text,
                                       why=refusal.why, refused_total=self.refused)
        self.record(event)
        await self.alert(event)

    async def _act(self, msg: Incoming, cmd: Command) -> str:
        outcome = await self._outcome(msg, cmd)
        self.accepted += 1
        reply = outcome.reply
        if cmd.truncated:
            reply += (f"\n(Reason cut to its first {len(cmd.argument)} characters: "
                      f"{cmd.truncated} more were dropped.)")
        reason = cmd.argument if cmd.verb is not Verb.CONFIRM else ""
        self.record(TelegramCommandAccepted(command=cmd.verb.value, who=who(msg),
                                            chat_id=msg.chat_id, reason=reason,
                                            result=outcome.result))
        return reply

    async def _outcome(self, msg: Incoming, cmd: Command) -> operator.Outcome:
        assert msg.user_id is not None, "screen() lets no message without a user through"
        if cmd.verb is Verb.HELP:
            return operator.Outcome(HELP_TEXT, "help sent")
        if cmd.verb in (Verb.STATUS, Verb.POSITIONS):
            show = operator.status_text if cmd.verb is Verb.STATUS else operator.positions_text
            return await asyncio.to_thread(show, self.run_dir)
        if cmd.verb is Verb.RESUME or (cmd.verb is Verb.REDUCE and await self._lifts_a_stop()):
            return self._ask_confirmation(msg.user_id, msg.chat_id, cmd)
        if cmd.verb is Verb.CONFIRM:
            found = self.confirmations.confirm(msg.user_id, msg.chat_id, cmd.argument,
                                               self.clock())
            if isinstance(found, NotConfirmed):
                return operator.Outcome(found.reply, f"not confirmed: {found.reply}")
            return await asyncio.to_thread(operator.change_state, self.run_dir, self.state_dir,
                                           Verb(found.target), found.reason, who(msg))
        return await asyncio.to_thread(operator.change_state, self.run_dir, self.state_dir,
                                       cmd.verb, cmd.argument, who(msg))

    async def _lifts_a_stop(self) -> bool:
        """Whether REDUCING now would loosen trading (out of HALTED or PAUSED, as the halts
        store says; an unreadable store reads HALTED, so the confirmation is asked for)."""
        state = await asyncio.to_thread(operator.stored_state, self.state_dir)
        return state in (TradingState.HALTED, TradingState.PAUSED)

    def _ask_confirmation(self, user_id: int, chat_id: int, cmd: Command) -> operator.Outcome:
        """A loosening command waits for ``/confirm <code>`` from the same user and chat."""
        code = self.new_code()
        self.confirmations.ask(user_id, chat_id, cmd.argument, code, self.clock(),
                               target=cmd.verb.value)
        goal = "go back to ACTIVE" if cmd.verb is Verb.RESUME else "lift the stop to REDUCING"
        return operator.Outcome(
            f"/{cmd.verb.value} asked: send /confirm {code} within "
            f"{self.confirmations.window_s:.0f} s to {goal}. Nothing changed yet.",
            "asked for confirmation")
