"""A sender process SIGKILLed mid-send loses nothing, and whatever it re-sends is marked.

The sender runs in a real subprocess (``python -c``) against the local Bot API server, with the
real ``telegram.Bot``; the test kills it with SIGKILL and starts it again on the same outbox.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from actors.alerter.outbox import Outbox
from actors.alerter.severity import Severity
from tests.support.botapi import BotApiServer

from .helpers import CHAT_ID, alert, enqueue_all, run, sequence_number, unmark

SENDER = """
import asyncio, signal, sys
from actors.alerter.outbox import Outbox
from actors.alerter.sender import Backoff, Sender, make_bot

async def main(path, token, base_url, chat_id):
    outbox = await Outbox.open(path)
    bot = make_bot(token, base_url=base_url, read_timeout=60.0)
    sender = Sender(outbox, bot=bot, chat_id=chat_id, backoff=Backoff(base_s=0.05, cap_s=0.2))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("recovered", outbox.recovered, flush=True)
    try:
        await sender.run_forever(stop)
    finally:
        await sender.aclose()
        await outbox.close()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


def _start(
    outbox_path: Path, server: BotApiServer, log: Path, processes: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SENDER,
                str(outbox_path),
                server.token,
                server.base_url,
                str(CHAT_ID),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    processes.append(proc)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=15)


def _kill(proc: subprocess.Popen[bytes]) -> int:
    proc.kill()
    return proc.wait(timeout=15)


def _enqueue(outbox_path: Path, items: list[tuple[Severity, int]]) -> None:
    async def scenario() -> None:
        async with await Outbox.open(outbox_path) as outbox:
            await enqueue_all(outbox, [alert(s, n) for s, n in items])

    run(scenario())


def _unsent(outbox_path: Path) -> int:
    async def scenario() -> int:
        async with await Outbox.open(outbox_path) as outbox:
            return await outbox.unsent_count()

    return run(scenario())


def _expected(items: list[tuple[Severity, int]]) -> list[str]:
    return [f"{s.name} #{n}" for s, n in sorted(items)]


def test_sigkill_while_a_request_is_in_flight_resends_it_marked(
    outbox_path: Path,
    botapi: BotApiServer,
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """Telegram accepted alert 11 but the sender died before hearing back: after a restart,
    alert 11 is sent again prefixed "(resent after restart)", every other alert exactly once,
    and the outbox ends empty."""
    rng = random.Random(3)
    items = [(rng.choice(list(Severity)), n) for n in range(30)]
    _enqueue(outbox_path, items)
    # The 11th sendMessage is processed, then never answered: the sender is stuck mid-send.
    botapi.hang_next(1, seconds=60.0, deliver=True, after=10)
    log = tmp_path / "sender.log"

    first = _start(outbox_path, botapi, log, processes)
    assert botapi.wait_for(lambda s: any(x.outcome == "hang" for x in s.seen), 30), log.read_text()
    assert _kill(first) == -signal.SIGKILL
    assert len(botapi.delivered) == 11

    second = _start(outbox_path, botapi, log, processes)
    assert botapi.wait_delivered(len(items) + 1, 30), log.read_text()
    assert _stop(second) == 0
    assert "recovered 1" in log.read_text()

    texts = [m.text for m in botapi.delivered]
    expected = _expected(items)
    assert texts[:11] == expected[:11]
    assert texts[11] == f"(resent after restart) {expected[10]}"
    assert texts[12:] == expected[11:]
    assert _unsent(outbox_path) == 0


def test_repeated_sigkills_at_arbitrary_points_lose_nothing(
    outbox_path: Path,
    botapi: BotApiServer,
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """Killed three times at arbitrary moments (slow API, so kills land mid-request), the sender
    still delivers every alert at least once, any second copy is marked, and first deliveries
    keep the outbox order."""
    items = [(Severity.YELLOW if n % 3 else Severity.RED, n) for n in range(60)]
    _enqueue(outbox_path, items)
    botapi.latency_s = 0.01  # each sendMessage takes ~10 ms: kills often land mid-request
    log = tmp_path / "sender.log"

    for kill_after in (8, 25, 40):
        proc = _start(outbox_path, botapi, log, processes)
        assert botapi.wait_delivered(kill_after, 30), log.read_text()
        assert _kill(proc) == -signal.SIGKILL
    last = _start(outbox_path, botapi, log, processes)
    assert botapi.wait_for(
        lambda s: {unmark(m.text)[0] for m in s.delivered} == set(_expected(items)), 30
    ), log.read_text()
    assert _stop(last) == 0

    texts = [m.text for m in botapi.delivered]
    copies = Counter(unmark(t)[0] for t in texts)
    assert set(copies) == set(_expected(items))
    seen: set[str] = set()
    firsts: list[str] = []
    for text in texts:
        plain, marked = unmark(text)
        if plain in seen:
            assert marked, f"unmarked duplicate: {text}"
        else:
            firsts.append(plain)
            seen.add(plain)
    assert sorted(firsts, key=sequence_number) == firsts  # (severity, n) order held
    assert _unsent(outbox_path) == 0
