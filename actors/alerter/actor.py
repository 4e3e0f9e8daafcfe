"""The alerter actor: alert-worthy bus events into the durable outbox, delivered to Telegram.

Threads: the hooks run on the pykka actor thread; the outbox (aiosqlite) and the sender
(python-telegram-bot, httpx) live in the runtime's asyncio loop, in the main thread. The actor
captures that loop in ``restore`` (which runs on the main thread, inside it), and reaches it with
``run_coroutine_threadsafe`` from its own thread while the runtime awaits the hook, so the loop
is free. ``on_event`` returns only once the alert is committed to the outbox: an event is in the
outbox before it counts as handled, and a crash after that loses nothing. The runtime
acknowledges a trading state to the supervisor before any handler runs (ADR 0005), so this
commit's fsync never slows a halt.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, ClassVar, TypeVar

import msgspec

from actors._runtime import log
from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.errors import unwritable_problem
from actors._runtime.messages import Event, Message
from actors.alerter.commands import Allowlist
from actors.alerter.config import (
    AlerterConfig,
    CommandSettings,
    TelegramSettings,
    resolve_commands,
    resolve_telegram,
)
from actors.alerter.desk import Desk
from actors.alerter.messages import TelegramCommandRefused
from actors.alerter.outbox import Outbox, enqueue_event
from actors.alerter.poller import Poller
from actors.alerter.report import catch_up_day, enqueue_report
from actors.alerter.sender import LOG_LEVEL, Sender, make_bot
from actors.alerter.severity import severity_of
from actors.alerter.templates import render

T = TypeVar("T")

OUTBOX_FILE = "alerter-outbox.sqlite"
"""The outbox, under the state directory."""
OPEN_TIMEOUT_S = 10.0
"""Longest wait for the outbox to open (and recover) at start."""
ENQUEUE_TIMEOUT_S = 5.0
"""Longest wait for one alert's commit; beyond it the actor crashes and is restarted."""
STOP_SENDER_S = 2.0
"""At drain: how long the delivery in progress may take before it is cancelled (its alert is
then re-sent, marked, at the next start)."""
RECORD_EVERY_S = 0.2
"""With Telegram commands on: how often their journal records are handed to the bus."""
KEEP_SENT_S = 7 * 86400.0
"""Delivered alerts are pruned from the outbox after this long (the journal keeps the record)."""


class Counts(msgspec.Struct):
    """Alerts raised, by severity (persisted)."""

    by_severity: dict[str, int] = msgspec.field(default_factory=dict)
    total: int = 0


class AlerterActor(BaseActor):
    """Subscribes to the alert-worthy events; each becomes an outbox entry, then a message."""

    config_type: ClassVar[type[msgspec.Struct] | None] = AlerterConfig
    replays_bus: ClassVar[bool] = True
    subscriptions: ClassVar[tuple[str, ...]] = (
        "TradingStateChanged",
        "ChildStarted",
        "ChildTerminated",
        "BreakerTripped",
        "BreakerReset",
        "HeartbeatMissed",
        "HangDetected",
        "HeartbeatAction",
        "BreakerHalted",
        "RestartIntensityReached",
        "OrderRejected",
        "OrderFilled",
        "StrategyFailed",
        "BusEventsLost",
        "BadMessageSeen",
        "TamperingDetected",
        "StateLost",
        "StateWriteFailed",
        "FeedStale",
        "FeedFresh",
        "FeedReconnected",
        "VenueInputRejected",
        "VenueRateLimited",
        "AdminCommandReceived",
        "JournalAnchored",
        "ConfigChanged",
    )

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the counters; remember the runtime's loop (this runs in it, on the main thread)."""
        raw = snapshot.get("counts")
        self.counts = msgspec.msgpack.decode(raw, type=Counts) if raw else Counts()
        self.iterations = self.counts.total
        self.log = log.get("alerter")
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None  # built outside the runtime (a test reading its summary)
        cfg: AlerterConfig = self.config
        self.telegram: TelegramSettings = resolve_telegram(cfg, os.environ)
        self.outbox: Outbox | None = None
        self.sender: Sender | None = None
        self._stop_sending: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.commands: CommandSettings = resolve_commands(cfg, self.telegram)
        self.desk: Desk | None = None
        self.poller: Poller | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._reports: set[asyncio.Task[list[int]]] = set()
        """Daily reports being built (in the loop; their file reading on worker threads)."""
        self._records: collections.deque[Event] = collections.deque()
        """Events the poller made for the journal, published on the next tick (thread-safe)."""
        if self.commands.on and self.run_dir is None:
            self.commands = CommandSettings(self.commands.chat_ids, self.commands.user_ids,
                                            self.commands.poll_s, "built outside a running tree")
        if self.commands.on:
            self.log.info("telegram_commands_on", chats=sorted(self.commands.chat_ids),
                          users=sorted(self.commands.user_ids))
        else:
            self.log.info("telegram_commands_off", reason=self.commands.off_reason)
        if self.telegram.token is None:
            self.log.warning("telegram_off", reason=self.telegram.off_reason,
                             consequence="alerts are written to the log only")
        else:
            self.log.info("telegram_on", chat_id=self.telegram.chat_id,
                          base_url=self.telegram.base_url,
                          token_source=self.telegram.token_source)

    def summary(self) -> Summary:
        """Alert counts, and whether Telegram is on."""
        return {
            "iterations": self.counts.total,
            "telegram": self.telegram.token is not None,
            "commands": self.commands.on,
            "commands_accepted": 0 if self.desk is None else self.desk.accepted,
            "commands_refused": 0 if self.desk is None else self.desk.refused,
            **self.counts.by_severity,
        }

    def tick_interval(self) -> float | None:
        """With commands on, a tick hands their journal records to the bus."""
        return RECORD_EVERY_S if self.commands.on else None

    def on_tick(self, now: float) -> None:
        """Publish what the poller recorded since the last tick (TelegramCommand*)."""
        while self._records:
            self.publish(self._records.popleft())

    def gauges(self) -> dict[str, float]:
        """The outbox's depth and the delivery failures since it opened (for the metrics)."""
        outbox = self.outbox
        if outbox is None:
            return {}
        return {"outbox_depth": float(outbox.unsent), "send_failures": float(outbox.failures)}

    # --- lifecycle --------------------------------------------------------------------

    def on_ready(self) -> None:
        """Open the outbox (recovering attempts a crash left open) and start delivering."""
        path = self.state_dir / OUTBOX_FILE
        self.outbox = self._in_loop(Outbox.open(path), OPEN_TIMEOUT_S)
        if self.outbox.recovered:
            self.log.warning("alerts_resent_after_restart", count=self.outbox.recovered)
        self._in_loop(self._start_sender(self.outbox), OPEN_TIMEOUT_S)

    async def _start_sender(self, outbox: Outbox) -> None:
        pruned = await outbox.prune(sent_before=time.time() - KEEP_SENT_S)
        unsent = await outbox.unsent_count()
        tg = self.telegram
        self.sender = Sender.from_token(tg.token, tg.chat_id, outbox, base_url=tg.base_url)
        self._stop_sending = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self.sender.run_forever(self._stop_sending), name="alert-sender"
        )
        self.log.info("alert_sender_started", unsent=unsent, pruned=pruned)
        missed = catch_up_day(self.state_dir, time.time())
        if missed is not None:
            self._spawn_report(missed)
        if self.commands.on:
            self._start_poller(outbox)

    def _start_poller(self, outbox: Outbox) -> None:
        """Commands on: a bot of their own, polled by a task of their own (never the sender's)."""
        tg, cmds = self.telegram, self.commands
        assert tg.token is not None, "commands.on says so"
        assert self.run_dir is not None, "commands.on says so"

        async def alert(event: TelegramCommandRefused) -> None:
            fields: dict[str, Any] = msgspec.to_builtins(event)
            fields.pop("type", None)
            await enqueue_event(outbox, type(event).__name__, fields)

        self.desk = Desk(allow=Allowlist(cmds.chat_ids, cmds.user_ids), run_dir=self.run_dir,
                         state_dir=self.state_dir, alert=alert, record=self._records.append)
        self.poller = Poller(make_bot(tg.token, base_url=tg.base_url), self.desk,
                             poll_s=cmds.poll_s)
        self._poll_task = asyncio.get_running_loop().create_task(
            self.poller.run_forever(asyncio.Event()), name="telegram-commands"
        )

    def on_drain(self) -> bool:
        """Stop the sender (after the delivery in progress, bounded) and close the outbox."""
        if self.outbox is not None:
            try:
                self._in_loop(self._shutdown(), STOP_SENDER_S + 2.0)
            except Exception as exc:  # noqa: BLE001 - the outbox is durable; drain regardless
                self.log.warning("alert_sender_stop_failed", reason=repr(exc))
            self.outbox = None
        return True

    def _spawn_report(self, day: str) -> None:
        """Build and queue ``day``'s report in the background (call in the runtime's loop)."""
        outbox = self.outbox
        if outbox is None:
            return
        task = asyncio.get_running_loop().create_task(
            enqueue_report(outbox, self.state_dir, day), name=f"daily-report-{day}")
        self._reports.add(task)

        def done(finished: asyncio.Task[list[int]]) -> None:
            self._reports.discard(finished)
            if finished.cancelled():
                return
            exc = finished.exception()
            if exc is not None:
                self.log.error("daily_report_failed", day=day, reason=repr(exc))
            else:
                self.log.info("daily_report_queued", day=day, alert_ids=finished.result())

        task.add_done_callback(done)

    async def _shutdown(self) -> None:
        for task in list(self._reports):
            # Not yet committed: the start-up catch-up builds it again.
            task.cancel()
        await asyncio.gather(*self._reports, return_exceptions=True)
        if self._poll_task is not None:
            # Nothing of the poller's is half-written: a long poll in progress is cut short.
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
        if self.poller is not None:
            await self.poller.aclose()
        if self._stop_sending is not None and self._task is not None:
            self._stop_sending.set()
            try:
                await asyncio.wait_for(self._task, STOP_SENDER_S)
            except TimeoutError:
                self.log.warning("alert_send_cut_short_by_drain",
                                 consequence="re-sent, marked, at next start")
        if self.sender is not None:
            await self.sender.aclose()
        if self.outbox is not None:
            await self.outbox.close()

    # --- events -----------------------------------------------------------------------

    def on_event(self, env: Envelope[Message]) -> None:
        """Store an alert for an alert-worthy event; returns once it is committed."""
        msg = env.payload
        name = type(msg).__name__
        fields: dict[str, Any] = msgspec.to_builtins(msg)
        fields.pop("type", None)
        severity = severity_of(name, fields)
        if severity is None:
            return
        assert self.outbox is not None, "events arrive only after on_ready"
        try:
            self._settle([self._submit(
                enqueue_event(self.outbox, name, fields, dedupe_key=env.msg_id)
            )])
        except Exception as exc:
            problem = unwritable_problem(exc)
            if problem is not None:
                # The outbox cannot take it: the log channel still does, now. The event stays
                # unacknowledged, so once the disk takes writes again its replay stores it.
                getattr(self.log, LOG_LEVEL[severity])(
                    "alert", severity=severity.name, kind=name, channel="log",
                    text=render(severity, name, fields), outbox_unwritable=problem,
                )
            raise
        if name == "JournalAnchored" and self.loop is not None:
            # After the anchor's own alert is committed; built off this thread (its heartbeat).
            self.loop.call_soon_threadsafe(self._spawn_report, str(fields["day"]))
        self.counts.total += 1
        self.iterations = self.counts.total
        key = severity.name
        self.counts.by_severity[key] = self.counts.by_severity.get(key, 0) + 1
        self.put("counts", self.counts)

    def _settle(self, futures: list[Future[Any]]) -> None:
        """Wait until each stored alert is committed (a failure crashes the actor: restarted)."""
        while futures:
            futures.pop(0).result(timeout=ENQUEUE_TIMEOUT_S)

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start ``coro`` in the runtime's loop (from the actor thread)."""
        if self.loop is None:
            coro.close()
            raise RuntimeError("the alerter runs only inside the actor runtime's event loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def _in_loop(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` in the runtime's loop and wait for it here, on the actor thread."""
        return self._submit(coro).result(timeout=timeout)
