"""The real thing: Telegram unreachable for a full minute, production backoff, real time."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from actors.alerter.outbox import Outbox
from actors.alerter.sender import Backoff, Sender, make_bot
from actors.alerter.severity import Severity
from tests.support.botapi import BotApiServer

from .helpers import CHAT_ID, alert, check_exactly_once_in_order, run, running, wait_delivered

OUTAGE_S = 60.0


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sixty_second_outage_in_real_time(outbox_path: Path, botapi: BotApiServer) -> None:
    """The Bot API goes down for 60 s while alerts of every severity keep arriving (before and
    during the outage); once it is back on the same port, every alert is delivered exactly once,
    FIFO within each severity, within one capped backoff of the recovery."""
    rng = random.Random(60)
    items = [(rng.choice(list(Severity)), n) for n in range(60)]
    botapi.down()

    async def scenario() -> float:
        async with await Outbox.open(outbox_path) as outbox:
            # Production settings: default timeouts and backoff.
            bot = make_bot(botapi.token, base_url=botapi.base_url)
            sender = Sender(outbox, bot=bot, chat_id=CHAT_ID, backoff=Backoff())
            async with running(sender):
                start = time.monotonic()
                # One alert per second through the outage.
                for s, n in items:
                    await outbox.enqueue(alert(s, n))
                    await asyncio.sleep(OUTAGE_S / len(items))
                await asyncio.sleep(max(0.0, start + OUTAGE_S - time.monotonic()))
                assert botapi.delivered == []
                botapi.up()
                back = time.monotonic()
                await wait_delivered(botapi, len(items), timeout=Backoff().cap_s + 15.0)
                return botapi.delivered[0].at - back

    recovery = run(scenario(), timeout=200.0)
    check_exactly_once_in_order(
        [m.text for m in botapi.delivered], [f"{s.name} #{n}" for s, n in items]
    )
    assert recovery <= Backoff().cap_s + 1.0
