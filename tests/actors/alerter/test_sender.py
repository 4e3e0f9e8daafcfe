"""Tests of delivery (actors/alerter/sender.py) through the real ``telegram.Bot`` against a local
Bot API server: success, 502 bursts, hangs, 429, outages, refusals, Telegram off."""

from __future__ import annotations

import asyncio
import itertools
import random
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from actors.alerter.outbox import Channel, Outbox
from actors.alerter.sender import Backoff, Sender, make_bot
from actors.alerter.severity import Severity
from tests.support.botapi import BotApiServer

from .conftest import FakeClock
from .helpers import (
    CHAT_ID,
    alert,
    check_exactly_once_in_order,
    enqueue_all,
    run,
    running,
    unmark,
    wait_delivered,
)

FAST = Backoff(base_s=0.05, cap_s=0.3, refused_base_s=300.0, refused_cap_s=3600.0)
"""Real-time tests: retries within a fraction of a second."""


def _sender(
    outbox: Outbox,
    server: BotApiServer,
    *,
    backoff: Backoff = FAST,
    read_timeout: float = 3.0,
    clock: FakeClock | None = None,
    **kwargs: int,
) -> Sender:
    bot = make_bot(server.token, base_url=server.base_url, read_timeout=read_timeout)
    return Sender(
        outbox,
        bot=bot,
        chat_id=CHAT_ID,
        backoff=backoff,
        clock=clock,
        rng=random.Random(1),
        **kwargs,
    )


def _mixed(n: int) -> list[tuple[Severity, int]]:
    rng = random.Random(n)
    return [(rng.choice(list(Severity)), i) for i in range(n)]


def test_delivers_to_the_chat_through_the_bot_api(outbox_path: Path, botapi: BotApiServer) -> None:
    """An enqueued alert reaches sendMessage with our chat id and text, and is marked sent."""

    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            sender = _sender(outbox, botapi)
            async with running(sender):
                alert_id = await outbox.enqueue(alert(Severity.RED, 1))
                await wait_delivered(botapi, 1)
            entry = await outbox.get(alert_id)
            assert entry is not None
            assert entry.channel is Channel.TELEGRAM
            assert entry.attempts == 1

    run(scenario())
    [message] = botapi.delivered
    assert (message.chat_id, message.text) == (CHAT_ID, "RED #1")
    assert [s.method for s in botapi.seen] == ["getMe", "sendMessage"]


def test_backlog_goes_out_red_first_then_fifo(outbox_path: Path, botapi: BotApiServer) -> None:
    """A backlog is delivered in (severity, arrival) order."""
    items = _mixed(30)
    expected = [f"{s.name} #{n}" for s, n in sorted(items, key=lambda x: (x[0], x[1]))]

    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            await enqueue_all(outbox, [alert(s, n) for s, n in items])
            async with running(_sender(outbox, botapi)):
                await wait_delivered(botapi, len(items))

    run(scenario())
    assert [m.text for m in botapi.delivered] == expected


def test_502_burst_then_recovery_delivers_each_exactly_once_in_order(
    outbox_path: Path, botapi: BotApiServer
) -> None:
    """Eight 502s in a row (while alerts keep arriving) cost nothing: after recovery every alert
    arrives exactly once, FIFO within each severity, without a duplicate marker."""
    items = _mixed(40)
    botapi.fail_next(8, 502)

    async def scenario() -> int:
        async with await Outbox.open(outbox_path) as outbox:
            async with running(_sender(outbox, botapi)):
                for s, n in items:
                    await outbox.enqueue(alert(s, n))
                await wait_delivered(botapi, len(items))
            return await outbox.unsent_count()

    assert run(scenario()) == 0
    texts = [m.text for m in botapi.delivered]
    check_exactly_once_in_order(texts, [f"{s.name} #{n}" for s, n in items])
    assert not any(unmark(t)[1] for t in texts)  # a 502 is an answer: nothing was delivered
    assert [s.outcome for s in botapi.seen].count("502") == 8


def test_5xx_for_a_time_window_then_recovery(outbox_path: Path, botapi: BotApiServer) -> None:
    """Errors for a whole second (many retries) still end with every alert delivered once.
    The second begins at the first send (a loaded machine may take most of one to start)."""
    items = _mixed(15)
    botapi.fail_for(1.0, 500, from_first=True)

    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            await enqueue_all(outbox, [alert(s, n) for s, n in items])
            async with running(_sender(outbox, botapi)):
                await wait_delivered(botapi, len(items))

    run(scenario())
    check_exactly_once_in_order(
        [m.text for m in botapi.delivered], [f"{s.name} #{n}" for s, n in items]
    )
    assert [s.outcome for s in botapi.seen].count("500") >= 3  # it kept retrying


def test_hang_is_detected_by_the_read_timeout_and_retried_marked(
    outbox_path: Path, botapi: BotApiServer
) -> None:
    """A server that never answers is given up on after the read timeout; the retry is marked a
    possible duplicate (the request may have been processed), and everything arrives once."""
    botapi.hang_next(2, seconds=10.0)
    items = [(Severity.YELLOW, n) for n in range(5)]

    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            await enqueue_all(outbox, [alert(s, n) for s, n in items])
            async with running(_sender(outbox, botapi, read_timeout=0.5)):
                await wait_delivered(botapi, len(items))

    run(scenario())
    texts = [m.text for m in botapi.delivered]
    check_exactly_once_in_order(texts, [f"{s.name} #{n}" for s, n in items])
    assert texts[0] == "(resent after a timeout, may be a duplicate) YELLOW #0"
    assert texts[1:] == ["YELLOW #1", "YELLOW #2", "YELLOW #3", "YELLOW #4"]
    send = [s for s in botapi.seen if s.method == "sendMessage"]
    assert [s.outcome for s in send[:3]] == ["hang", "hang", "ok"]
    assert send[1].at - send[0].at >= 0.5  # waited the read timeout, then backed off


def test_hang_after_processing_yields_a_marked_duplicate_only(
    outbox_path: Path, botapi: BotApiServer
) -> None:
    """When Telegram processed a request but the answer was lost, the alert shows up twice and
    the second copy carries the marker; no other alert is duplicated."""
    botapi.hang_next(1, seconds=10.0, deliver=True, after=2)
    items = [(Severity.INFO, n) for n in range(5)]

    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            await enqueue_all(outbox, [alert(s, n) for s, n in items])
            async with running(_sender(outbox, botapi, read_timeout=0.5)):
                await wait_delivered(botapi, len(items) + 1)

    run(scenario())
    assert [m.text for m in botapi.delivered] == [
        "INFO #0",
        "INFO #1",
        "INFO #2",
        "(resent after a timeout, may be a duplicate) INFO #2",
        "INFO #3",
        "INFO #4",
    ]


# RetryAfter's own constructor reads its deprecated int-valued attribute (PTB 22.2+); not ours.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_retry_after_is_honoured_in_real_time(outbox_path: Path, botapi: BotApiServer) -> None:
    """After a 429 with retry_after=1, the next request comes no sooner than 1 s later (and not
    much more: retry_after replaces the backoff, it is not added to it)."""
    botapi.rate_limit_next(1, retry_after=1)

    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            await enqueue_all(outbox, [alert(Severity.RED, n) for n in range(3)])
            async with running(_sender(outbox, botapi)):
                await wait_delivered(botapi, 3)

    run(scenario())
    send = [s for s in botapi.seen if s.method == "sendMessage"]
    assert [s.outcome for s in send] == ["429", "ok", "ok", "ok"]
    waited = send[1].at - send[0].at
    assert 1.0 <= waited < 2.0, waited
    assert [m.text for m in botapi.delivered] == ["RED #0", "RED #1", "RED #2"]


# RetryAfter's own constructor reads its deprecated int-valued attribute (PTB 22.2+); not ours.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_retry_after_sets_the_next_attempt_exactly(
    outbox_path: Path, botapi: BotApiServer, clock: FakeClock
) -> None:
    """run_once reports the wake time now + retry_after exactly, and sends nothing before it."""
    botapi.rate_limit_next(1, retry_after=7)

    async def scenario() -> tuple[float | None, float | None, int]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            sender = _sender(outbox, botapi, clock=clock)
            await outbox.enqueue(alert(Severity.RED, 1))
            start = clock()
            wake = await sender.run_once()
            clock.advance(6.9)
            early = await sender.run_once()
            sent_early = len(botapi.delivered)
            clock.set(start + 7)
            done = await sender.run_once()
            await sender.aclose()
            assert done is None
            assert wake is not None
            return wake - start, None if early is None else early - start, sent_early

    wake, early, sent_early = run(scenario())
    assert wake == 7.0
    assert early == 7.0
    assert sent_early == 0
    assert len(botapi.delivered) == 1


def test_short_outage_then_back_delivers_everything_once(
    outbox_path: Path, botapi: BotApiServer
) -> None:
    """Server fully down (connections refused) for 1.5 s while alerts arrive, then back up on the
    same port: every alert delivered exactly once, in order within each severity."""
    items = _mixed(30)
    botapi.down()

    async def scenario() -> None:
        async with (
            await Outbox.open(outbox_path) as outbox,
            running(_sender(outbox, botapi)),
        ):
            # The outage is the scenario: alerts keep arriving, one every 50 ms, while it lasts.
            for s, n in items:
                await outbox.enqueue(alert(s, n))
                await asyncio.sleep(1.5 / len(items))
            head = (await outbox.pending(1))[0]
            assert head.attempts >= 3  # it kept trying during the outage
            assert head.last_error is not None
            assert "ConnectError" in head.last_error
            botapi.up()
            await wait_delivered(botapi, len(items))

    run(scenario())
    texts = [m.text for m in botapi.delivered]
    check_exactly_once_in_order(texts, [f"{s.name} #{n}" for s, n in items])
    assert not any(unmark(t)[1] for t in texts)  # refused connections never carried a request


def test_sixty_second_outage_on_a_fake_clock(
    outbox_path: Path, botapi: BotApiServer, clock: FakeClock
) -> None:
    """A 60 s outage with production backoff: attempts thin out exponentially (never more than
    the cap apart), and the first attempt after the server returns delivers everything."""
    botapi.down()
    items = _mixed(20)

    async def scenario() -> tuple[list[float], float]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            sender = _sender(outbox, botapi, backoff=Backoff(), clock=clock)
            await enqueue_all(outbox, [alert(s, n) for s, n in items])
            start = clock()
            attempts: list[float] = []
            while clock() - start < 60.0:
                attempts.append(clock() - start)
                wake = await sender.run_once()
                assert wake is not None
                clock.set(wake)
            botapi.up()
            back = clock() - start
            while await outbox.unsent_count():
                wake = await sender.run_once()
                if wake is not None:
                    clock.set(wake)
            await sender.aclose()
            return attempts, back

    attempts, back = run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert all(g <= Backoff().cap_s for g in gaps)
    assert gaps[-1] > gaps[0] * 4  # it backed off
    assert 5 <= len(attempts) <= 20
    assert back - 60.0 <= Backoff().cap_s  # delivery resumed within one capped backoff
    check_exactly_once_in_order(
        [m.text for m in botapi.delivered], [f"{s.name} #{n}" for s, n in items]
    )


def test_bad_request_steps_aside_and_is_retried_later(
    outbox_path: Path, botapi: BotApiServer, clock: FakeClock
) -> None:
    """A message Telegram refuses (400) does not block the others and is not lost: it is
    retried after the long backoff."""
    botapi.fail_next(1, 400, description="Bad Request: can't parse entities")

    async def scenario() -> tuple[list[str], float | None, str | None]:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            sender = _sender(outbox, botapi, clock=clock)
            await enqueue_all(outbox, [alert(Severity.RED, n) for n in range(3)])
            wake = await sender.run_once()
            first_round = [m.text for m in botapi.delivered]
            refused = await outbox.get(1)
            assert refused is not None
            assert wake is not None
            clock.set(wake)
            assert await sender.run_once() is None
            await sender.aclose()
            return first_round, wake - refused.created_at, refused.last_error

    first_round, delay, error = run(scenario())
    assert first_round == ["RED #1", "RED #2"]
    assert delay is not None
    assert 150.0 <= delay <= 300.0  # refused_base_s with equal jitter
    assert error == "BadRequest: Can't parse entities"
    assert [m.text for m in botapi.delivered] == ["RED #1", "RED #2", "RED #0"]


def test_forbidden_makes_the_whole_channel_wait(
    outbox_path: Path, botapi: BotApiServer, clock: FakeClock
) -> None:
    """403 (bot blocked) holds every alert back for the long backoff, then delivers in order."""
    botapi.fail_next(1, 403)

    async def scenario() -> float | None:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            sender = _sender(outbox, botapi, clock=clock)
            await enqueue_all(outbox, [alert(Severity.YELLOW, n) for n in range(3)])
            start = clock()
            wake = await sender.run_once()
            assert botapi.delivered == []
            assert wake is not None
            clock.set(wake)
            await sender.run_once()
            await sender.aclose()
            return wake - start

    delay = run(scenario())
    assert delay is not None
    assert 150.0 <= delay <= 300.0
    assert [m.text for m in botapi.delivered] == ["YELLOW #0", "YELLOW #1", "YELLOW #2"]


def test_a_new_red_overtakes_queued_info(outbox_path: Path, botapi: BotApiServer) -> None:
    """A RED enqueued behind a backlog of INFO goes out next, not after the backlog."""

    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            sender = _sender(outbox, botapi, max_per_run=5)
            await enqueue_all(outbox, [alert(Severity.INFO, n) for n in range(20)])
            await sender.run_once()
            await outbox.enqueue(alert(Severity.RED, 99))
            await sender.run_once()
            await sender.aclose()

    run(scenario())
    texts = [m.text for m in botapi.delivered]
    assert texts[5] == "RED #99"
    assert texts[:5] == [f"INFO #{n}" for n in range(5)]


def test_coalesced_summary_goes_out_when_the_window_closes(
    outbox_path: Path, botapi: BotApiServer, clock: FakeClock
) -> None:
    """The sender wakes at the burst window's end and delivers the summary."""

    async def scenario() -> float | None:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            sender = _sender(outbox, botapi, clock=clock)
            rejected = alert(Severity.YELLOW, 0)
            for _ in range(50):
                await outbox.enqueue_coalesced(rejected, group="throttle", window_s=60)
            start = clock()
            wake = await sender.run_once()
            assert wake is not None
            clock.set(wake)
            await sender.run_once()
            await sender.aclose()
            return wake - start

    assert run(scenario()) == 60.0
    texts = [m.text for m in botapi.delivered]
    assert texts[0] == "YELLOW #0"
    assert texts[1].startswith("🟡 YELLOW · 49 more Test in the last 60 s (50 since")
    assert texts[1].endswith("top reasons: throttle x49")


def test_telegram_off_logs_each_alert_and_marks_it_delivered_to_log(outbox_path: Path) -> None:
    """Without a token every alert is written to the log and leaves the queue as delivered."""

    async def scenario() -> list[Channel | None]:
        async with await Outbox.open(outbox_path) as outbox:
            sender = Sender.from_token(None, CHAT_ID, outbox)
            await enqueue_all(outbox, [alert(Severity.RED, 1), alert(Severity.INFO, 2)])
            assert await sender.run_once() is None
            await sender.aclose()
            return [e.channel for e in await outbox.entries()]

    with capture_logs() as logs:
        channels = run(scenario())
    assert channels == [Channel.LOG, Channel.LOG]
    alerts = [e for e in logs if e["event"] == "alert"]
    assert [(e["log_level"], e["text"]) for e in alerts] == [
        ("error", "RED #1"),
        ("info", "INFO #2"),
    ]


@pytest.mark.parametrize("token", ["wrong:token"])
def test_wrong_token_is_logged_and_nothing_is_lost(
    outbox_path: Path, botapi: BotApiServer, clock: FakeClock, token: str
) -> None:
    """A rejected token (401) is reported and the alerts wait; nothing is dropped or crashes."""

    async def scenario() -> int:
        async with await Outbox.open(outbox_path, clock=clock) as outbox:
            bot = make_bot(token, base_url=botapi.base_url)
            sender = Sender(outbox, bot=bot, chat_id=CHAT_ID, clock=clock)
            await outbox.enqueue(alert(Severity.RED, 1))
            wake = await sender.run_once()
            await sender.aclose()
            assert wake is not None
            assert wake - clock() >= 150.0
            return await outbox.unsent_count()

    with capture_logs() as logs:
        assert run(scenario()) == 1
    assert any(e["event"] == "telegram_token_rejected" for e in logs)
    assert botapi.delivered == []
