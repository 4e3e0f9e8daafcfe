"""Tests of the command poller (actors/alerter/poller.py): real python-telegram-bot against the
local Bot API server, updates of each kind turned into replies, the offset confirmed, and a
failing getUpdates retried until it works again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from actors.alerter.commands import Allowlist
from actors.alerter.desk import Desk
from actors.alerter.messages import TelegramCommandRefused
from actors.alerter.poller import Poller
from actors.alerter.sender import Backoff, make_bot
from tests.support.botapi import BOT_USERNAME, BotApiServer

pytestmark = pytest.mark.timeout(30)

CHAT, USER = -100500, 1001


async def _alert(_event: TelegramCommandRefused) -> None:
    return None


async def _until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _poll(botapi: BotApiServer, tmp_path: Path, script: object) -> Desk:
    """Run a poller while ``script(poller)`` (a coroutine function) runs; the desk after."""
    desk = Desk(allow=Allowlist(frozenset({CHAT}), frozenset({USER})), run_dir=tmp_path,
                state_dir=tmp_path / "state", alert=_alert, record=lambda _e: None)

    async def main() -> None:
        poller = Poller(make_bot(botapi.token, base_url=botapi.base_url), desk, poll_s=1.0,
                        backoff=Backoff(base_s=0.05, cap_s=0.2))
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run_forever(stop))
        try:
            await script(poller)  # type: ignore[operator]
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await poller.aclose()

    asyncio.run(main())
    return desk


def test_each_kind_of_update_gets_its_reply_and_the_offset_is_confirmed(
    botapi: BotApiServer, tmp_path: Path
) -> None:
    """A command for this bot by name is answered; one for another bot, an edit, a forward and a
    channel post (no sender) are refused with their reply; every update is confirmed."""

    async def script(_poller: Poller) -> None:
        botapi.send_update(CHAT, USER, f"/help@{BOT_USERNAME}")
        botapi.send_update(CHAT, USER, "/help@other_bot")
        botapi.send_update(CHAT, USER, "/help", edited=True)
        botapi.send_update(CHAT, USER, "/help", forwarded=True)
        last = botapi.send_update(CHAT, None, "/halt from a channel")
        await _until(lambda: len(botapi.sent_to(CHAT)) >= 5)
        await _until(lambda: botapi.confirmed >= last)

    desk = _poll(botapi, tmp_path, script)
    replies = botapi.sent_to(CHAT)
    assert replies[0].startswith("Quantfund commands:")
    assert "for @other_bot" in replies[1]
    assert "edited message" in replies[2]
    assert "forwarded message" in replies[3]
    assert "without a sender" in replies[4]
    assert (desk.accepted, desk.refused) == (1, 4)
    assert desk.bot_username == BOT_USERNAME


def test_a_failing_get_updates_is_retried_until_it_works(
    botapi: BotApiServer, tmp_path: Path
) -> None:
    """502s on getUpdates are counted and retried; a command sent meanwhile is answered once
    polling works again."""

    async def script(poller: Poller) -> None:
        botapi.fail_next(3, 502, methods=("getUpdates",))
        botapi.send_update(CHAT, USER, "/help")
        await _until(lambda: len(botapi.sent_to(CHAT)) >= 1)
        assert poller.failures == 0

    _poll(botapi, tmp_path, script)
    outcomes = [s.outcome for s in botapi.seen if s.method == "getUpdates"]
    assert outcomes[:3] == ["502", "502", "502"]
    assert botapi.sent_to(CHAT)[0].startswith("Quantfund commands:")
