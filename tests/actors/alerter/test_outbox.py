"""Tests of the durable outbox (actors/alerter/outbox.py): order, durability, crash marking,
coalescing through SQLite."""

from __future__ import annotations

import random
import re
import sqlite3
from collections import Counter
from pathlib import Path

from actors.alerter.outbox import Alert, Channel, Outbox, Resend, enqueue_event
from actors.alerter.severity import Severity

from .conftest import FakeClock
from .helpers import alert, run


def test_pending_is_red_first_then_fifo(outbox_path: Path) -> None:
    """Pending order is (severity, arrival): RED first, FIFO within a severity."""

    async def scenario() -> list[str]:
        async with await Outbox.open(outbox_path) as outbox:
            for n, sev in enumerate(
                [Severity.INFO, Severity.YELLOW, Severity.RED, Severity.INFO, Severity.RED]
            ):
                await outbox.enqueue(alert(sev, n))
            return [e.text for e in await outbox.pending(10)]

    assert run(scenario()) == ["RED #2", "RED #4", "YELLOW #1", "INFO #0", "INFO #3"]


def test_enqueue_is_committed_before_it_returns(outbox_path: Path) -> None:
    """Another connection sees the alert as soon as enqueue returns (durable, not buffered)."""

    async def scenario() -> int:
        async with await Outbox.open(outbox_path) as outbox:
            alert_id = await outbox.enqueue(alert(Severity.RED, 1))
            with sqlite3.connect(outbox_path) as other:
                row = other.execute("SELECT text FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            assert row == ("RED #1",)
            return alert_id

    assert run(scenario()) == 1


def test_database_settings(outbox_path: Path) -> None:
    """The outbox runs in WAL mode with synchronous=FULL."""

    async def scenario() -> tuple[str, int]:
        async with await Outbox.open(outbox_path) as outbox:
            db = outbox._db  # the live connection: synchronous is a per-connection setting
            mode = next(iter(await db.execute_fetchall("PRAGMA journal_mode")))[0]
            sync = next(iter(await db.execute_fetchall("PRAGMA synchronous")))[0]
            return str(mode), int(sync)

    assert run(scenario()) == ("wal", 2)


def test_outbox_survives_reopen(outbox_path: Path) -> None:
    """Undelivered alerts, delivered ones and failure notes are all still there after reopen."""

    async def first() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            ids = [await outbox.enqueue(alert(Severity.YELLOW, n)) for n in range(5)]
            await outbox.mark_sending(ids[0])
            await outbox.mark_sent(ids[0])
            await outbox.mark_sending(ids[1])
            await outbox.record_failure(ids[1], "NetworkError: down", None)

    async def second() -> tuple[int, list[str], str | None, int]:
        async with await Outbox.open(outbox_path) as outbox:
            pending = await outbox.pending(10)
            return (
                await outbox.unsent_count(),
                [e.text for e in pending],
                pending[0].last_error,
                outbox.recovered,
            )

    run(first())
    count, texts, error, recovered = run(second())
    assert count == 4
    assert texts == ["YELLOW #1", "YELLOW #2", "YELLOW #3", "YELLOW #4"]
    assert error == "NetworkError: down"
    assert recovered == 0  # every attempt was closed before the reopen


def test_attempt_in_flight_at_a_crash_is_marked_resent(outbox_path: Path) -> None:
    """An alert whose attempt was open when the process died is re-sent with a marker."""

    async def crash() -> int:
        outbox = await Outbox.open(outbox_path)
        alert_id = await outbox.enqueue(alert(Severity.RED, 1))
        await outbox.enqueue(alert(Severity.RED, 2))
        await outbox.mark_sending(alert_id)
        # No mark_sent / record_failure: the committed state is what a SIGKILL leaves behind.
        await outbox.close()
        return alert_id

    async def restart(alert_id: int) -> tuple[int, list[str], Resend | None]:
        async with await Outbox.open(outbox_path) as outbox:
            entry = await outbox.get(alert_id)
            assert entry is not None
            return (
                outbox.recovered,
                [e.delivery_text() for e in await outbox.pending(10)],
                entry.resend,
            )

    alert_id = run(crash())
    recovered, texts, resend = run(restart(alert_id))
    assert recovered == 1
    assert resend is Resend.RESTART
    assert texts == ["(resent after restart) RED #1", "RED #2"]


def test_maybe_delivered_failure_marks_the_retry(outbox_path: Path) -> None:
    """A failure whose request may have reached Telegram marks the retry as a possible duplicate;
    an unambiguous failure does not."""

    async def scenario() -> list[str]:
        async with await Outbox.open(outbox_path) as outbox:
            a = await outbox.enqueue(alert(Severity.INFO, 1))
            b = await outbox.enqueue(alert(Severity.INFO, 2))
            await outbox.record_failure(a, "TimedOut", None, maybe_delivered=True)
            await outbox.record_failure(b, "NetworkError: refused", None)
            return [e.delivery_text() for e in await outbox.pending(10)]

    assert run(scenario()) == ["(resent after a timeout, may be a duplicate) INFO #1", "INFO #2"]


def test_per_alert_delay_steps_aside_until_due(outbox_path: Path, clock: FakeClock) -> None:
    """An alert given a next_attempt_at is skipped until then; the others stay due."""

    async def scenario() -> tuple[list[str], float | None, list[str]]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            a = await outbox.enqueue(alert(Severity.RED, 1))
            await outbox.enqueue(alert(Severity.RED, 2))
            await outbox.record_failure(a, "BadRequest", clock() + 300)
            now_texts = [e.text for e in await outbox.pending(10)]
            due = await outbox.next_due_at()
            clock.advance(300)
            later_texts = [e.text for e in await outbox.pending(10)]
            return now_texts, due, later_texts

    now_texts, due, later_texts = run(scenario())
    assert now_texts == ["RED #2"]
    assert due is not None
    assert later_texts == ["RED #1", "RED #2"]


def test_mark_sent_removes_from_pending_and_records_channel(outbox_path: Path) -> None:
    """A delivered alert leaves the queue for good and says where it went."""

    async def scenario() -> tuple[int, Channel | None]:
        async with await Outbox.open(outbox_path) as outbox:
            alert_id = await outbox.enqueue(alert(Severity.INFO, 1))
            await outbox.mark_sent(alert_id, channel=Channel.LOG)
            entry = await outbox.get(alert_id)
            assert entry is not None
            assert entry.sent_at is not None
            return await outbox.unsent_count(), entry.channel

    assert run(scenario()) == (0, Channel.LOG)


def test_dedupe_key_enqueues_once(outbox_path: Path) -> None:
    """An event delivered twice (same message id) becomes one alert."""

    async def scenario() -> tuple[int, int, int]:
        async with await Outbox.open(outbox_path) as outbox:
            first = await outbox.enqueue(
                Alert(severity=Severity.RED, kind="K", text="t", dedupe_key="msg-1")
            )
            again = await outbox.enqueue(
                Alert(severity=Severity.RED, kind="K", text="t", dedupe_key="msg-1")
            )
            return first, again, await outbox.unsent_count()

    first, again, count = run(scenario())
    assert first == again
    assert count == 1


def test_prune_deletes_only_delivered(outbox_path: Path, clock: FakeClock) -> None:
    """Pruning never touches an alert still owed."""

    async def scenario() -> tuple[int, int]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            a = await outbox.enqueue(alert(Severity.INFO, 1))
            await outbox.enqueue(alert(Severity.INFO, 2))
            await outbox.mark_sent(a)
            clock.advance(10)
            return await outbox.prune(clock()), await outbox.unsent_count()

    assert run(scenario()) == (1, 1)


def _rejection(code: str) -> Alert:
    return Alert(severity=Severity.YELLOW, kind="OrderRejected", text=f"rejected: {code}")


def test_500_rejections_coalesce_with_exact_counts(outbox_path: Path, clock: FakeClock) -> None:
    """500 rejections over ~3 windows become a lead plus one summary per window, and the counts
    carried by the stored alerts add up to exactly 500, per reason too."""
    rng = random.Random(7)
    codes = [rng.choice(["max_notional", "price_collar", "throttle"]) for _ in range(500)]

    async def scenario() -> list[tuple[int, str, int]]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            for code in codes:
                await outbox.enqueue_coalesced(_rejection(code), group=code, window_s=60.0)
                clock.advance(0.3)  # 500 * 0.3 s = 150 s: three windows
            while outbox.next_burst_close() is not None:
                clock.set(outbox.next_burst_close() or 0.0)
                await outbox.roll_bursts()
            return [(e.count, e.text, e.severity) for e in await outbox.entries()]

    rows = run(scenario())
    assert sum(count for count, _, _ in rows) == 500
    assert rows[0] == (1, f"rejected: {codes[0]}", Severity.YELLOW)
    assert len(rows) == 4  # the lead and three window summaries
    per_code = Counter([codes[0]])
    for count, text, _ in rows[1:]:
        assert text.startswith(f"🟡 YELLOW · {count} more orders rejected in the last 60 s")
        per_code.update({code: int(n) for code, n in re.findall(r"(\w+) x(\d+)", text)})
    assert "(500 since" in rows[-1][1]
    assert per_code == Counter(codes)


def test_burst_state_survives_reopen(outbox_path: Path, clock: FakeClock) -> None:
    """Counts of an open window are persisted with each event, so a restart loses none."""

    async def before_crash() -> None:
        outbox = await Outbox.open(outbox_path, clock=clock)
        for _ in range(10):
            await outbox.enqueue_coalesced(_rejection("throttle"), group="throttle", window_s=60)
            clock.advance(1)
        await outbox.close()

    async def after_restart() -> list[int]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            for _ in range(5):
                await outbox.enqueue_coalesced(
                    _rejection("throttle"), group="throttle", window_s=60
                )
            clock.advance(60)
            await outbox.roll_bursts()
            return [e.count for e in await outbox.entries()]

    run(before_crash())
    assert run(after_restart()) == [1, 14]


def test_quiet_period_after_a_burst_makes_the_next_event_a_lead(
    outbox_path: Path, clock: FakeClock
) -> None:
    """After a burst has ended, a new rejection is alerted at once again."""

    async def scenario() -> list[int | None]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            ids = [await outbox.enqueue_coalesced(_rejection("a"), group="a", window_s=60)]
            clock.advance(200)  # no events: the window closes with nothing counted
            await outbox.roll_bursts()
            ids.append(await outbox.enqueue_coalesced(_rejection("b"), group="b", window_s=60))
            return ids

    first, second = run(scenario())
    assert first is not None
    assert second is not None
    assert second > first


def test_enqueue_event_applies_policy_template_and_coalescing(
    outbox_path: Path, clock: FakeClock
) -> None:
    """One call per bus event: routine events store nothing, alert-worthy ones are rendered with
    their severity, rejections are coalesced, and a redelivered event is stored once."""
    halt = {
        "previous": "ACTIVE",
        "state": "HALTED",
        "source": "operator",
        "reason": "drill",
        "seq": 1,
    }
    rejected = {"intent_id": "i1", "instrument": "ES", "code": "throttle", "reason": "too fast"}

    async def scenario() -> tuple[list[int | None], list[tuple[Severity, str, int]]]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            ids = [
                await enqueue_event(outbox, "Heartbeat", {"actor": "journal"}),
                await enqueue_event(outbox, "TradingStateChanged", halt, dedupe_key="m1"),
                await enqueue_event(outbox, "TradingStateChanged", halt, dedupe_key="m1"),
            ]
            for _ in range(3):
                ids.append(await enqueue_event(outbox, "OrderRejected", rejected))
            clock.advance(60)
            await outbox.roll_bursts()
            return ids, [(e.severity, e.text, e.count) for e in await outbox.entries()]

    ids, rows = run(scenario())
    heartbeat, halt_id, halt_again, lead, *counted = ids
    assert heartbeat is None
    assert halt_id is not None
    assert halt_again == halt_id
    assert lead is not None
    assert counted == [None, None]
    assert rows[0] == (
        Severity.RED,
        "🔴 RED · HALTED by operator: drill (was ACTIVE), halts row 1",
        1,
    )
    assert rows[1] == (
        Severity.YELLOW,
        "🟡 YELLOW · order rejected: ES [throttle] too fast (intent i1)",
        1,
    )
    assert rows[2][2] == 2
    assert rows[2][1].endswith("top reasons: throttle x2")


def test_a_minute_of_fills_is_its_first_fill_and_one_summary(
    outbox_path: Path, clock: FakeClock
) -> None:
    """50 fills a second for a minute (a busy strategy) leave two alerts, not 3,000: Telegram
    takes about one message a second per chat, and one by one they would queue for ever."""
    def fill(instrument: str) -> dict[str, object]:
        return {"client_order_id": "QF-1", "instrument": instrument, "side": "BUY",
                "quantity": 1.0, "price": 100.0, "position_after": 1.0, "realized_pnl": 0.0}

    async def scenario() -> list[tuple[Severity, str, int]]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            for i in range(3000):
                await enqueue_event(outbox, "OrderFilled", fill("BTC-USD" if i % 3 else "ETH"))
                clock.advance(0.02)
            clock.advance(1)
            await outbox.roll_bursts()
            return [(e.severity, e.text, e.count) for e in await outbox.entries()]

    rows = run(scenario())
    assert [r[0] for r in rows] == [Severity.INFO, Severity.INFO]
    assert rows[1][2] == 2999
    assert rows[1][1].endswith("top reasons: BTC-USD x2000, ETH x999")


def test_depth_and_failures_follow_the_queue_across_a_reopen(outbox_path: Path) -> None:
    """``unsent`` (the metrics' outbox depth) counts what is owed: +1 per new alert, not for a
    deduplicated one, -1 per delivery (once), and is recounted from the file at open;
    ``failures`` counts failed attempts."""

    async def scenario() -> tuple[int, int, int]:
        async with await Outbox.open(outbox_path) as outbox:
            first = await outbox.enqueue(alert(Severity.RED, 1))
            await outbox.enqueue(alert(Severity.RED, 2))
            await outbox.enqueue(Alert(severity=Severity.INFO, kind="K", text="t",
                                       dedupe_key="same"))
            await outbox.enqueue(Alert(severity=Severity.INFO, kind="K", text="t",
                                       dedupe_key="same"))
            await outbox.record_failure(first, "network down", None)
            await outbox.mark_sent(first)
            await outbox.mark_sent(first)  # a second mark changes nothing
            depth, failures = outbox.unsent, outbox.failures
        async with await Outbox.open(outbox_path) as again:
            return depth, failures, again.unsent

    assert run(scenario()) == (2, 1, 2)
