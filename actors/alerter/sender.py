"""Delivery of outbox alerts to Telegram, with our own retries (python-telegram-bot has none).

The :class:`Sender` takes due alerts from the :class:`~actors.alerter.outbox.Outbox` in order and
calls ``telegram.Bot.send_message`` one at a time (``send_photo`` for an alert that carries a
PNG, such as the daily report's chart). Nothing is dropped; each failure decides how
long to wait:

==========================================  ==================================================
failure                                     what happens
==========================================  ==================================================
``RetryAfter`` (429)                        whole channel waits exactly ``retry_after`` seconds
``TimedOut``, ``NetworkError`` (down, 5xx)  whole channel waits: exponential backoff + jitter
``BadRequest`` (this message is refused)    this alert waits a long backoff; the rest go on
``Forbidden``, ``InvalidToken``, others     whole channel waits a long backoff (config error)
anything else (a bug, a SQLite error)       logged; whole channel waits the short backoff
==========================================  ==================================================

A channel-wide wait keeps the order: the failed alert stays at the head of its severity. When a
request may have reached Telegram before failing (read timeout, dropped connection), the retry
is marked as a possible duplicate; an attempt cut short by a crash is marked the same way on the
next start (see ``outbox.py``).

With no token ("Telegram off"), every alert is written to the log and marked delivered there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from telegram import Bot
from telegram.error import (
    BadRequest,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from actors.alerter.outbox import Channel, Outbox, OutboxEntry
from actors.alerter.severity import Severity

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
"""Telegram's Bot API; tests point the bot at a local server instead."""

_log = structlog.get_logger("alerter.sender")

MAX_CAPTION = 1024
"""Telegram's limit on a photo's caption, in characters."""

LOG_LEVEL = {Severity.RED: "error", Severity.YELLOW: "warning", Severity.INFO: "info"}
"""Telegram off: the log level an alert is written at, so log filters see its urgency."""


@dataclass(frozen=True)
class Backoff:
    """How long to wait after failures; "equal jitter" (half fixed, half random)."""

    base_s: float = 0.5
    """First transient retry waits between base_s/2 and base_s."""
    factor: float = 2.0
    """Growth per consecutive transient failure."""
    cap_s: float = 15.0
    """Longest transient wait, so delivery resumes within this long after an outage ends."""
    refused_base_s: float = 300.0
    """First wait after Telegram refused a message or the bot (BadRequest, Forbidden)."""
    refused_cap_s: float = 3600.0
    """Longest such wait: a refused alert is retried at least hourly, never dropped."""

    def transient(self, failures: int, rng: random.Random) -> float:
        """Wait after ``failures`` consecutive transient failures (1 for the first)."""
        return self._jittered(self.base_s, self.cap_s, failures, rng)

    def refused(self, failures: int, rng: random.Random) -> float:
        """Wait after ``failures`` consecutive refusals (1 for the first)."""
        return self._jittered(self.refused_base_s, self.refused_cap_s, failures, rng)

    def _jittered(self, base: float, cap: float, failures: int, rng: random.Random) -> float:
        # Exponent clamped so a long outage cannot overflow the float.
        full = min(cap, base * self.factor ** min(max(failures - 1, 0), 64))
        # Jitter spreads several bots' retries apart; the fixed half keeps the backoff a backoff.
        return full / 2 + rng.uniform(0, full / 2)


def make_bot(
    token: str,
    *,
    base_url: str = DEFAULT_BASE_URL,
    connect_timeout: float = 2.0,
    read_timeout: float = 3.0,
    write_timeout: float = 3.0,
    pool_timeout: float = 1.0,
) -> Bot:
    """A ``telegram.Bot`` with short timeouts, so a hung server is noticed in seconds.

    Args:
        token: Bot token (from the environment or a systemd credential, never the config file).
        base_url: Bot API URL up to and including ``/bot``.
        connect_timeout: Seconds to establish a connection.
        read_timeout: Seconds to wait for the answer.
        write_timeout: Seconds to send the request.
        pool_timeout: Seconds to wait for a free pooled connection.

    Returns:
        The bot; hand it to a :class:`Sender`, which owns it from then on.
    """

    def request() -> HTTPXRequest:
        return HTTPXRequest(
            connection_pool_size=4,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            pool_timeout=pool_timeout,
        )

    return Bot(token, base_url=base_url, request=request(), get_updates_request=request())


def retry_after_s(exc: RetryAfter) -> float:
    """``exc.retry_after`` in seconds, whether the library gives an int or a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns that the attribute will become a timedelta; we accept both already.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def maybe_delivered(exc: NetworkError) -> bool:
    """Whether Telegram may have received the request that failed with ``exc``.

    A refused connection or a connect/pool timeout never sent it; an HTTP error status came with
    an answer saying it was not processed. A read timeout or a connection dropped after the
    request was written leaves its fate unknown.
    """
    cause = exc.__cause__
    return isinstance(cause, httpx.TransportError) and not isinstance(cause, _NOT_SENT)


class Sender:
    """Delivers due alerts; run :meth:`run_forever` as a task, or :meth:`run_once` to step."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        bot: Bot | None,
        chat_id: int | str,
        backoff: Backoff | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        max_per_run: int = 100,
        poll_s: float = 5.0,
    ) -> None:
        """Create a sender; it owns ``bot`` (see :meth:`aclose`).

        Args:
            outbox: Where alerts wait.
            bot: The Telegram bot (:func:`make_bot`), or None for "Telegram off": alerts go to
                the log.
            chat_id: Chat (or ``@channel``) that receives the alerts.
            backoff: Retry timing.
            clock: Wall clock; defaults to the outbox's, so retry times and timestamps agree.
            rng: Source of jitter (seed it in tests).
            max_per_run: :meth:`run_once` returns after this many deliveries, so a flood cannot
                starve the caller.
            poll_s: Longest idle wait in :meth:`run_forever`, a safety net should a change be
                made behind the outbox's back (another process).
        """
        self._outbox = outbox
        self._bot = bot
        self._chat_id = chat_id
        self._backoff = backoff or Backoff()
        self._clock = clock or outbox.clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._max_per_run = max_per_run
        self._poll_s = poll_s
        self._bot_started = False
        self._not_before = 0.0
        self._transient_failures = 0
        self._refusals = 0
        self.delivered = 0
        """Alerts delivered by this sender since it was created."""

    @classmethod
    def from_token(
        cls,
        token: str | None,
        chat_id: int | str,
        outbox: Outbox,
        *,
        base_url: str = DEFAULT_BASE_URL,
        **kwargs: Any,
    ) -> Sender:
        """A sender for ``token`` (None or empty: Telegram off); ``kwargs`` go to the sender."""
        bot = make_bot(token, base_url=base_url) if token else None
        return cls(outbox, bot=bot, chat_id=chat_id, **kwargs)

    @property
    def not_before(self) -> float:
        """When the channel may resume after its last failure (in the past when not waiting)."""
        return self._not_before

    async def aclose(self) -> None:
        """Release the bot's HTTP connections."""
        if self._bot is not None and self._bot_started:
            await self._bot.shutdown()
            self._bot_started = False

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; waits on new alerts, retry times and burst ends.

        Never raises on a delivery failure. Cancelling it mid-send leaves that attempt open in
        the outbox, so the next start re-sends the alert marked ``(resent after restart)``.

        Args:
            stop: Set it to return after the delivery in progress.
        """
        while not stop.is_set():
            try:
                wake = await self.run_once()
            except Exception:  # noqa: BLE001 - logged with its traceback; delivery must go on
                # A bug or a SQLite error must not end delivery for good; wait and try again.
                _log.exception("alert_sender_failed")
                self._transient_failures += 1
                wake = self._clock() + self._backoff.transient(self._transient_failures, self._rng)
            timeout = self._poll_s if wake is None else min(wake - self._clock(), self._poll_s)
            if timeout > 0:
                await _wait_any(stop, self._outbox.changed, timeout)

    async def run_once(self) -> float | None:
        """Deliver what is due now, then return.

        Returns:
            When there is more to do (a retry time, a burst window's end, or now when
            ``max_per_run`` was reached), or None when nothing waits.
        """
        # Cleared first: anything enqueued from here on sets it again and wakes the next wait.
        self._outbox.changed.clear()
        await self._start_bot()
        await self._outbox.roll_bursts()
        if self._clock() < self._not_before:
            return self._not_before
        sent = 0
        while sent < self._max_per_run:
            # Cleared before each query: whatever is enqueued after it sets the flag again.
            self._outbox.changed.clear()
            batch = await self._outbox.pending(min(50, self._max_per_run - sent))
            if not batch:
                break
            for entry in batch:
                if not await self._deliver(entry):
                    return self._not_before
                sent += 1
                if self._outbox.changed.is_set():
                    # Something new arrived (maybe RED): ask again so it goes first.
                    break
        if sent >= self._max_per_run:
            return self._clock()
        return self._next_wake(await self._outbox.next_due_at())

    def _next_wake(self, next_due: float | None) -> float | None:
        times = [t for t in (next_due, self._outbox.next_burst_close()) if t is not None]
        return min(times, default=None)

    async def _start_bot(self) -> None:
        if self._bot is None or self._bot_started:
            return
        self._bot_started = True
        try:
            # Opens the HTTP clients and checks the token with getMe. Failure is only logged:
            # sending works without it and its own errors drive the retries.
            await self._bot.initialize()
        except InvalidToken as exc:
            _log.error("telegram_token_rejected", error=str(exc))
        except TelegramError as exc:
            _log.warning("telegram_get_me_failed", error=str(exc), error_type=type(exc).__name__)

    async def _deliver(self, entry: OutboxEntry) -> bool:
        """Try one alert; False when the whole channel must now wait."""
        if self._bot is None:
            getattr(_log, LOG_LEVEL[entry.severity])(
                "alert",
                severity=entry.severity.name,
                kind=entry.kind,
                alert_id=entry.id,
                text=entry.delivery_text(),
                channel=Channel.LOG.value,
            )
            await self._outbox.mark_sent(entry.id, channel=Channel.LOG)
            self.delivered += 1
            return True
        await self._outbox.mark_sending(entry.id)
        try:
            if entry.photo is None:
                await self._bot.send_message(chat_id=self._chat_id, text=entry.delivery_text())
            else:
                await self._bot.send_photo(chat_id=self._chat_id, photo=entry.photo,
                                           caption=entry.delivery_text()[:MAX_CAPTION])
        except RetryAfter as exc:
            wait = retry_after_s(exc)
            await self._channel_waits(entry, exc, wait, maybe=False)
            return False
        except BadRequest as exc:
            # Checked before NetworkError, its base class: this message is refused, not the
            # network. It steps aside with a long wait; later alerts go on.
            self._refusals = 0
            wait = self._backoff.refused(entry.attempts + 1, self._rng)
            await self._outbox.record_failure(entry.id, _describe(exc), self._clock() + wait)
            _log.error(
                "alert_refused", alert_id=entry.id, error=_describe(exc), retry_in_s=round(wait)
            )
            return True
        except NetworkError as exc:  # TimedOut included
            self._transient_failures += 1
            wait = self._backoff.transient(self._transient_failures, self._rng)
            await self._channel_waits(entry, exc, wait, maybe=maybe_delivered(exc))
            return False
        except TelegramError as exc:
            # Forbidden (bot blocked or removed), InvalidToken, ChatMigrated: every message
            # would fail the same way until an operator acts.
            self._refusals += 1
            wait = self._backoff.refused(self._refusals, self._rng)
            await self._channel_waits(entry, exc, wait, maybe=False, level="error")
            return False
        self._transient_failures = 0
        self._refusals = 0
        await self._outbox.mark_sent(entry.id)
        self.delivered += 1
        return True

    async def _channel_waits(
        self,
        entry: OutboxEntry,
        exc: TelegramError,
        wait: float,
        *,
        maybe: bool,
        level: str = "warning",
    ) -> None:
        # The alert stays due (next_attempt_at None): the channel-wide wait keeps it first.
        self._not_before = self._clock() + wait
        await self._outbox.record_failure(entry.id, _describe(exc), None, maybe_delivered=maybe)
        getattr(_log, level)(
            "alert_delivery_failed",
            alert_id=entry.id,
            error=_describe(exc),
            maybe_delivered=maybe,
            retry_in_s=round(wait, 3),
        )


def _describe(exc: TelegramError) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _wait_any(stop: asyncio.Event, changed: asyncio.Event, timeout: float) -> None:
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(changed.wait())}
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
