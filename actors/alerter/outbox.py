"""The alerter's durable outbox: alerts committed to SQLite before anyone acknowledges them.

One table of alerts, one of open coalescing bursts, in a WAL database with ``synchronous=FULL``.
An alert is written by :meth:`Outbox.enqueue` (committed before it returns, so the caller may
acknowledge the event afterwards) and leaves the queue only through :meth:`Outbox.mark_sent`.

Delivery bookkeeping makes a crash mid-send visible: :meth:`Outbox.mark_sending` commits the start
of an attempt; if the process dies before :meth:`Outbox.mark_sent` or
:meth:`Outbox.record_failure`, the next :meth:`Outbox.open` finds the attempt still open and flags
the alert as a possible duplicate, and the re-sent text says so (``(resent after restart)``).

Order: :meth:`Outbox.pending` yields RED before YELLOW before INFO, first in first out within a
severity. An alert given a per-alert delay (a message Telegram refused) steps out of that order
until its delay ends, so one bad message cannot block the queue.

Single writer: one process (the alerter) owns the file; calls from one event loop are serialised
by a lock so that a multi-statement transaction is never interleaved with another.
"""

from __future__ import annotations

import asyncio
import enum
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiosqlite
import msgspec

from actors.alerter import coalesce
from actors.alerter.severity import Fields, Severity, raw, rule_for
from actors.alerter.templates import render

SCHEMA_VERSION = 2
"""2: ``alerts.photo`` (a PNG sent as a photo, its text the caption); 1 is migrated at open."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    severity        INTEGER NOT NULL,           -- Severity value: 0 RED, 1 YELLOW, 2 INFO
    kind            TEXT    NOT NULL,           -- event type name, or a summary's kind
    text            TEXT    NOT NULL,
    count           INTEGER NOT NULL DEFAULT 1, -- events this alert stands for (summaries > 1)
    dedupe_key      TEXT    UNIQUE,             -- e.g. the event's message id; NULL = no dedupe
    created_at      REAL    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    sending_since   REAL,                       -- an attempt in flight (set by mark_sending)
    resend          TEXT,                       -- Resend value once an attempt's fate is unknown
    next_attempt_at REAL    NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         REAL,
    channel         TEXT,                       -- 'telegram' or 'log' once delivered
    photo           BLOB                        -- a PNG: sent as a photo, the text its caption
);
CREATE INDEX IF NOT EXISTS alerts_unsent ON alerts (severity, id) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS bursts (
    kind  TEXT PRIMARY KEY,
    state BLOB NOT NULL                         -- msgpack of coalesce.Burst
);
"""

_SELECT_DUE = """
SELECT id, severity, kind, text, count, created_at, attempts, resend, next_attempt_at,
       last_error, sent_at, channel, photo
FROM alerts WHERE sent_at IS NULL AND next_attempt_at <= ? ORDER BY severity, id LIMIT ?
"""
_SELECT_ONE = """
SELECT id, severity, kind, text, count, created_at, attempts, resend, next_attempt_at,
       last_error, sent_at, channel, photo
FROM alerts WHERE id = ?
"""
_SELECT_ALL = """
SELECT id, severity, kind, text, count, created_at, attempts, resend, next_attempt_at,
       last_error, sent_at, channel, photo
FROM alerts ORDER BY id
"""


class Resend(enum.Enum):
    """Why an alert's next delivery may duplicate an earlier one."""

    RESTART = "restart"
    """The process died while an attempt was in flight."""
    TIMEOUT = "timeout"
    """An attempt ended without an answer after the request may have reached the server."""


RESEND_PREFIX: dict[Resend, str] = {
    Resend.RESTART: "(resent after restart) ",
    Resend.TIMEOUT: "(resent after a timeout, may be a duplicate) ",
}
"""Marker put in front of a text whose earlier attempt may have been delivered."""


class Channel(enum.Enum):
    """Where an alert was delivered."""

    TELEGRAM = "telegram"
    """Telegram accepted it (``sendMessage`` returned a Message)."""
    LOG = "log"
    """Telegram is off (no token): the alert was written to the log instead."""


class Alert(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An alert to enqueue."""

    severity: Severity
    """Delivery priority and the colour of the message."""
    kind: str
    """Event type name the alert is about."""
    text: str
    """Rendered message (``templates.render``)."""
    count: int = 1
    """Number of events the alert stands for."""
    dedupe_key: str | None = None
    """Enqueueing again with the same key returns the first id instead of a second alert."""
    photo: bytes | None = None
    """A PNG to send as a photo, with ``text`` as its caption (at most 1024 characters)."""


class OutboxEntry(msgspec.Struct, frozen=True):
    """One alert as stored."""

    id: int
    """Row id; FIFO order within a severity."""
    severity: Severity
    """Priority."""
    kind: str
    """Event type name."""
    text: str
    """Rendered message, as enqueued."""
    count: int
    """Events it stands for."""
    created_at: float
    """When it was enqueued."""
    attempts: int
    """Delivery attempts started."""
    resend: Resend | None
    """Set when an earlier attempt may have been delivered."""
    next_attempt_at: float
    """Not retried before this time (0 when due at once)."""
    last_error: str | None
    """The last failure, for the operator."""
    sent_at: float | None
    """When it was delivered, or None while it waits."""
    channel: Channel | None
    """Where it was delivered."""
    photo: bytes | None = None
    """A PNG sent as a photo (``text`` its caption), or None for a text message."""

    def delivery_text(self) -> str:
        """The text to send: the stored text, marked when this may be a duplicate."""
        return self.text if self.resend is None else RESEND_PREFIX[self.resend] + self.text


def _entry(row: Any) -> OutboxEntry:
    # sqlite3 rows are untyped tuples in the column order of the _SELECT_* queries.
    (id_, sev, kind, text, count, created, attempts, resend, next_at, error, sent, chan,
     photo) = row
    return OutboxEntry(
        id=int(id_),
        severity=Severity(sev),
        kind=str(kind),
        text=str(text),
        count=int(count),
        created_at=float(created),
        attempts=int(attempts),
        resend=None if resend is None else Resend(resend),
        next_attempt_at=float(next_at),
        last_error=None if error is None else str(error),
        sent_at=None if sent is None else float(sent),
        channel=None if chan is None else Channel(chan),
        photo=None if photo is None else bytes(photo),
    )


class Outbox:
    """The durable queue of alerts; construct with :meth:`open`, finish with :meth:`close`."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        *,
        clock: Callable[[], float],
        bursts: dict[str, coalesce.Burst],
        recovered: int,
        unsent: int = 0,
    ) -> None:
        """Wrap an open connection; use :meth:`open` instead."""
        self._db = db
        self._clock = clock
        self._bursts = bursts
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self.recovered = recovered
        """Alerts found with an attempt in flight at open (they will be re-sent, marked)."""
        self.unsent = unsent
        """Alerts still owed (counted at open, then kept in step: read by the metrics)."""
        self.failures = 0
        """Failed delivery attempts recorded since open."""

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time
    ) -> Outbox:
        """Open (creating if needed) the outbox at ``path`` and recover from a crash.

        Args:
            path: SQLite file, under the state directory.
            clock: Wall clock in seconds since the epoch; timestamps and retry times use it.

        Returns:
            The open outbox. Attempts left in flight by a dead process are closed and their
            alerts flagged :attr:`Resend.RESTART`.
        """
        db = await aiosqlite.connect(os.fspath(path), isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed alert survives power loss too, not only a process crash.
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("PRAGMA busy_timeout=5000")
            await _migrate(db)
            await db.executescript(_SCHEMA)
            await db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            cursor = await db.execute(
                "UPDATE alerts SET resend = ?, sending_since = NULL "
                "WHERE sending_since IS NOT NULL AND sent_at IS NULL",
                (Resend.RESTART.value,),
            )
            recovered = cursor.rowcount
            rows = await db.execute_fetchall("SELECT state FROM bursts")
            bursts = {
                burst.kind: burst
                for burst in (msgspec.msgpack.decode(row[0], type=coalesce.Burst) for row in rows)
            }
            counted = list(await db.execute_fetchall(
                "SELECT COUNT(*) FROM alerts WHERE sent_at IS NULL"))
        except BaseException:
            await db.close()
            raise
        outbox = cls(db, clock=clock, bursts=bursts, recovered=recovered,
                     unsent=int(counted[0][0]))
        if recovered or bursts:
            outbox._changed.set()
        return outbox

    async def __aenter__(self) -> Outbox:
        """Use as ``async with await Outbox.open(path) as outbox``."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the database."""
        await self.close()

    @property
    def clock(self) -> Callable[[], float]:
        """The wall clock this outbox stamps and schedules with."""
        return self._clock

    @property
    def changed(self) -> asyncio.Event:
        """Set whenever something was enqueued or a burst opened; the sender clears it."""
        return self._changed

    async def close(self) -> None:
        """Close the database (its worker thread ends)."""
        await self._db.close()

    # --- writing ----------------------------------------------------------------------------

    async def enqueue(self, alert: Alert) -> int:
        """Store one alert durably.

        Args:
            alert: What to deliver.

        Returns:
            Its id, committed (``synchronous=FULL``) before this returns. With a ``dedupe_key``
            already stored, the id of that earlier alert and nothing new.
        """
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                alert_id = await self._insert(alert)
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
        self._changed.set()
        return alert_id

    async def enqueue_coalesced(
        self, alert: Alert, *, group: str | None, window_s: float
    ) -> int | None:
        """Count one event of a coalesced type; store its alert only if it leads a burst.

        The burst state and any alert (a summary of the window that just closed, the lead) are
        committed in one transaction, so the counts stay exact across a crash.

        Args:
            alert: The event's own alert, used when it leads (its kind names the burst).
            group: Grouping value for the summary's "top reasons" (e.g. the rejection code).
            window_s: Window length for a burst this event opens.

        Returns:
            The lead alert's id, or None when the event was counted in an open window.
        """
        async with self._lock:
            step = coalesce.absorb(
                self._bursts.get(alert.kind),
                kind=alert.kind,
                severity=alert.severity,
                group=group,
                now=self._clock(),
                window_s=window_s,
            )
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                if step.summary is not None:
                    await self._insert(_summary_alert(step.summary))
                lead_id = await self._insert(alert) if step.lead else None
                await self._save_burst(alert.kind, step.burst)
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
            self._bursts[alert.kind] = step.burst
        self._changed.set()
        return lead_id

    async def roll_bursts(self) -> list[int]:
        """Close every burst window that has ended, enqueueing its summary.

        Returns:
            Ids of the summaries enqueued.
        """
        now = self._clock()
        ids: list[int] = []
        async with self._lock:
            due = [b for b in self._bursts.values() if now >= b.closes_at]
            if not due:
                return ids
            after: dict[str, coalesce.Burst | None] = {}
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for burst in due:
                    summary, rolled = coalesce.roll(burst, now)
                    if summary is not None:
                        ids.append(await self._insert(_summary_alert(summary)))
                    await self._save_burst(burst.kind, rolled)
                    after[burst.kind] = rolled
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
            for kind, rolled in after.items():
                if rolled is None:
                    del self._bursts[kind]
                else:
                    self._bursts[kind] = rolled
        if ids:
            self._changed.set()
        return ids

    def next_burst_close(self) -> float | None:
        """When the earliest open burst window ends, or None with no burst open."""
        return min((b.closes_at for b in self._bursts.values()), default=None)

    async def mark_sending(self, alert_id: int) -> None:
        """Commit the start of a delivery attempt (so a crash during it is detected)."""
        await self._write(
            "UPDATE alerts SET sending_since = ?, attempts = attempts + 1 WHERE id = ?",
            (self._clock(), alert_id),
        )

    async def mark_sent(self, alert_id: int, *, channel: Channel = Channel.TELEGRAM) -> None:
        """Commit a delivery: the alert leaves the queue for good."""
        changed = await self._write(
            "UPDATE alerts SET sent_at = ?, channel = ?, sending_since = NULL "
            "WHERE id = ? AND sent_at IS NULL",
            (self._clock(), channel.value, alert_id),
        )
        self.unsent -= changed

    async def record_failure(
        self,
        alert_id: int,
        error: str,
        next_attempt_at: float | None,
        *,
        maybe_delivered: bool = False,
    ) -> None:
        """Commit a failed attempt; the alert stays queued.

        Args:
            alert_id: The alert.
            error: What went wrong, kept for the operator.
            next_attempt_at: Not before this time (wall clock); None keeps the alert due at once
                (a channel-wide backoff held by the sender keeps its place in the order).
            maybe_delivered: The request may have reached Telegram (a read timeout, a dropped
                connection); the next attempt is marked as a possible duplicate.
        """
        self.failures += 1
        await self._write(
            "UPDATE alerts SET sending_since = NULL, last_error = ?, "
            "next_attempt_at = COALESCE(?, next_attempt_at), "
            "resend = CASE WHEN ? THEN COALESCE(resend, ?) ELSE resend END WHERE id = ?",
            (error[:1000], next_attempt_at, maybe_delivered, Resend.TIMEOUT.value, alert_id),
        )

    async def prune(self, sent_before: float) -> int:
        """Delete alerts delivered before ``sent_before``; returns how many (the journal keeps
        the audit trail, the outbox only what is still owed)."""
        return await self._write(
            "DELETE FROM alerts WHERE sent_at IS NOT NULL AND sent_at < ?", (sent_before,)
        )

    # --- reading ----------------------------------------------------------------------------

    async def pending(self, limit: int = 50) -> list[OutboxEntry]:
        """Undelivered alerts that are due, RED first, FIFO within a severity.

        Args:
            limit: At most this many.

        Returns:
            Entries ordered by (severity, id) whose ``next_attempt_at`` has come.
        """
        rows = await self._db.execute_fetchall(_SELECT_DUE, (self._clock(), limit))
        return [_entry(row) for row in rows]

    async def next_due_at(self) -> float | None:
        """The earliest ``next_attempt_at`` among undelivered alerts, or None when none wait."""
        rows = list(
            await self._db.execute_fetchall(
                "SELECT MIN(next_attempt_at) FROM alerts WHERE sent_at IS NULL"
            )
        )
        value = rows[0][0] if rows else None
        return None if value is None else float(value)

    async def unsent_count(self) -> int:
        """Alerts still owed."""
        rows = list(
            await self._db.execute_fetchall("SELECT COUNT(*) FROM alerts WHERE sent_at IS NULL")
        )
        return int(rows[0][0])

    async def get(self, alert_id: int) -> OutboxEntry | None:
        """One alert by id, delivered or not."""
        rows = list(await self._db.execute_fetchall(_SELECT_ONE, (alert_id,)))
        return _entry(rows[0]) if rows else None

    async def entries(self) -> list[OutboxEntry]:
        """Every stored alert in id order (for status output and tests)."""
        rows = await self._db.execute_fetchall(_SELECT_ALL)
        return [_entry(row) for row in rows]

    # --- helpers ----------------------------------------------------------------------------

    async def _insert(self, alert: Alert) -> int:
        cursor = await self._db.execute(
            "INSERT INTO alerts (severity, kind, text, count, dedupe_key, created_at, photo) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
            (
                int(alert.severity),
                alert.kind,
                alert.text,
                alert.count,
                alert.dedupe_key,
                self._clock(),
                alert.photo,
            ),
        )
        if cursor.rowcount == 1 and cursor.lastrowid is not None:
            self.unsent += 1  # counted before the commit: a rollback errs high, never hides one
            return cursor.lastrowid
        rows = list(
            await self._db.execute_fetchall(
                "SELECT id FROM alerts WHERE dedupe_key = ?", (alert.dedupe_key,)
            )
        )
        return int(rows[0][0])

    async def _save_burst(self, kind: str, burst: coalesce.Burst | None) -> None:
        if burst is None:
            await self._db.execute("DELETE FROM bursts WHERE kind = ?", (kind,))
        else:
            await self._db.execute(
                "INSERT INTO bursts (kind, state) VALUES (?, ?) "
                "ON CONFLICT (kind) DO UPDATE SET state = excluded.state",
                (kind, msgspec.msgpack.encode(burst)),
            )

    async def _write(self, sql: str, params: tuple[object, ...]) -> int:
        # Autocommit mode: a single statement is its own transaction, committed on return.
        async with self._lock:
            cursor = await self._db.execute(sql, params)
            return cursor.rowcount


async def _migrate(db: aiosqlite.Connection) -> None:
    """Bring an outbox of schema 1 to 2 (the ``photo`` column), keeping every alert."""
    columns = [row[1] for row in await db.execute_fetchall("PRAGMA table_info(alerts)")]
    if columns and "photo" not in columns:
        await db.execute("ALTER TABLE alerts ADD COLUMN photo BLOB")


def _summary_alert(summary: coalesce.Summary) -> Alert:
    return Alert(
        severity=summary.severity,
        kind=summary.kind,
        text=summary.text(),
        count=summary.count,
    )


async def enqueue_event(
    outbox: Outbox, event_name: str, fields: Fields, *, dedupe_key: str | None = None
) -> int | None:
    """Turn one bus event into an alert in ``outbox``: policy, template, coalescing, in one call.

    Args:
        outbox: The open outbox (call from its event loop).
        event_name: The event's type name.
        fields: Its fields (``msgspec.to_builtins`` or ``msgspec.structs.asdict`` of it).
        dedupe_key: The envelope's message id, so a redelivered event is stored once (not
            applied to coalesced types, whose events are counted).

    Returns:
        The id of the alert stored, or None when the event is not alert-worthy or was counted
        into an open burst. Either way it is committed when this returns.
    """
    rule = rule_for(event_name)
    severity = None if rule is None else rule.severity(fields)
    if rule is None or severity is None:
        return None
    text = render(severity, event_name, fields)
    if rule.coalesce_window_s is None:
        return await outbox.enqueue(
            Alert(severity=severity, kind=event_name, text=text, dedupe_key=dedupe_key)
        )
    group = None if rule.coalesce_key is None else str(raw(fields.get(rule.coalesce_key)))
    return await outbox.enqueue_coalesced(
        Alert(severity=severity, kind=event_name, text=text),
        group=group,
        window_s=rule.coalesce_window_s,
    )
