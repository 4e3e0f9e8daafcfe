"""Telegram commands in: long-poll ``getUpdates`` and answer each message, on a bot of its own.

The poller shares the alert sender's token, not its failure: it has its own ``telegram.Bot`` (its
own HTTP connection pools and timeouts) and runs as its own task, so a hung or failing
``getUpdates`` never holds an alert back. Its failures are logged and retried with the sender's
backoff; a reply that cannot be sent is logged and dropped (the command's effect and its journal
record do not depend on it). Updates are acknowledged by the next poll's offset: one acted on
just before a crash may come again after the restart (a halt twice changes nothing; a
``/confirm`` finds nothing pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import structlog
from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError

from actors.alerter.commands import Incoming
from actors.alerter.desk import Desk
from actors.alerter.sender import Backoff

_log = structlog.get_logger("alerter.commands")

MAX_REPLY = 4096
"""Telegram's limit on a message text, in characters."""
READ_MARGIN_S = 5.0
"""Beyond the long-poll timeout, how long ``getUpdates`` may take to answer."""
ALLOWED_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post")
"""What the bot asks Telegram for (edits are asked for so that they can be refused aloud)."""


def incoming_of(update: Update) -> Incoming | None:
    """The message an update carries, or None for updates that are not messages."""
    message = (update.message or update.edited_message or update.channel_post
               or update.edited_channel_post)
    if message is None:
        return None
    user = message.from_user
    extra = message.api_kwargs or {}
    forwarded = (message.forward_origin is not None or "forward_from" in extra
                 or "forward_date" in extra or bool(message.is_automatic_forward))
    edited = (update.edited_message is not None or update.edited_channel_post is not None
              or message.edit_date is not None)
    return Incoming(
        update_id=update.update_id,
        chat_id=message.chat.id,
        user_id=None if user is None else user.id,
        username=(user.username or "") if user is not None else "",
        text=message.text or message.caption or "",
        edited=edited,
        forwarded=forwarded,
    )


class Poller:
    """Polls for commands until stopped; run :meth:`run_forever` as a task."""

    def __init__(self, bot: Bot, desk: Desk, *, poll_s: float,
                 backoff: Backoff | None = None, rng: random.Random | None = None) -> None:
        """Create a poller; it owns ``bot`` (see :meth:`aclose`).

        Args:
            bot: A bot of its own (``sender.make_bot``), never the alert sender's.
            desk: What each message does.
            poll_s: Long-poll timeout of ``getUpdates``, in seconds.
            backoff: Retry timing after a failed poll.
            rng: Source of jitter.
        """
        self._bot = bot
        self._desk = desk
        self._poll_s = poll_s
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._offset: int | None = None
        self._started = False
        self.failures = 0
        """Consecutive failed polls."""

    async def aclose(self) -> None:
        """Release the bot's HTTP connections."""
        if self._started:
            self._started = False
            with contextlib.suppress(TelegramError):
                await self._bot.shutdown()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll and answer until ``stop`` is set (or the task is cancelled); never raises on a
        Telegram failure."""
        while not stop.is_set():
            try:
                await self._start()
                updates = await self._bot.get_updates(
                    offset=self._offset, timeout=int(self._poll_s),
                    read_timeout=self._poll_s + READ_MARGIN_S,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            except Exception as exc:  # noqa: BLE001 - polling must go on whatever failed
                await self._failed(exc, stop)
                continue
            self.failures = 0
            for update in updates:
                self._offset = update.update_id + 1
                await self._serve(update)

    async def _start(self) -> None:
        if self._started:
            return
        # getMe: the bot's username, so that "/halt@other_bot" is recognised as not ours.
        await self._bot.initialize()
        self._started = True
        self._desk.bot_username = self._bot.username
        _log.info("telegram_commands_polling", bot=self._bot.username)

    async def _failed(self, exc: Exception, stop: asyncio.Event) -> None:
        self.failures += 1
        wait = self._backoff.transient(self.failures, self._rng)
        level = "error" if isinstance(exc, InvalidToken) else "warning"
        getattr(_log, level)("telegram_poll_failed", error=f"{type(exc).__name__}: {exc}",
                             failures=self.failures, retry_in_s=round(wait, 3))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)

    async def _serve(self, update: Update) -> None:
        msg = incoming_of(update)
        if msg is None:
            return
        try:
            reply = await self._desk.handle(msg)
        except Exception as exc:  # noqa: BLE001 - one bad message must not end polling
            _log.exception("telegram_command_failed", update_id=msg.update_id)
            reply = f"Error: the command failed ({type(exc).__name__}: {exc}). Nothing is known " \
                    "to have changed; check /status."
        if reply is None:
            return
        try:
            await self._bot.send_message(chat_id=msg.chat_id, text=reply[:MAX_REPLY])
        except TelegramError as exc:
            _log.warning("telegram_reply_failed", chat_id=msg.chat_id,
                         error=f"{type(exc).__name__}: {exc}")
