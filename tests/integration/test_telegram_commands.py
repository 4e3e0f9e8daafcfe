"""Telegram commands against a real tree and the local Bot API server: halt, reduce and a
confirmed resume that change the trading state, every refusal with its reply and its YELLOW
alert, ``/halt`` with the supervisor frozen (layer 3), and alerts that never wait for a failing
``getUpdates``.

The tree runs ``journal`` and ``alerter`` only. The token reaches it through the environment;
alerts go to ``ALERT_CHAT``, command replies to the chat the command came from.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actors.breaker.messages import BreakerReset
from supervisor.halts import HaltRow, HaltsStore
from tests.support.botapi import BotApiServer
from tests.support.bus import Bus
from tests.support.tree import TreeRun, wait_stopped

ALERT_CHAT = 4242
DESK = -100500  # the allowlisted group chat
ALICE = 1001  # the allowlisted user
WHO = f"telegram:{ALICE} @alice"


def _config(server: BotApiServer) -> str:
    return f"""
[supervisor]
children = ["journal", "alerter"]
[alerter]
chat_id = "{ALERT_CHAT}"
base_url = "{server.base_url}"
command_chat_ids = [{DESK}]
command_user_ids = [{ALICE}]
command_poll_s = 1.0
"""


@pytest.fixture
def tree(tree_factory: Callable[..., TreeRun], botapi: BotApiServer) -> TreeRun:
    """A running tree whose alerter polls the local server for commands."""
    run = tree_factory(_config(botapi))
    run.wait_started()
    run.wait_for("telegram_commands_polling")
    return run


def _say(botapi: BotApiServer, text: str, *, chat: int = DESK, user: int | None = ALICE,
         username: str = "alice", **kw: bool) -> str:
    """Send ``text`` as ``user`` in ``chat``; the bot's reply there."""
    before = len(botapi.sent_to(chat))
    botapi.send_update(chat, user, text, username=username, **kw)
    return botapi.wait_sent_to(chat, before + 1, timeout=15)[before]


def _rows(state_dir: Path) -> list[HaltRow]:
    store = HaltsStore.open_readonly(state_dir / "halts.sqlite")
    try:
        return store.rows()
    finally:
        store.close()


def _journal(state_dir: Path, event: str, n: int = 1, timeout: float = 10.0) -> list[Any]:
    """The fields of the journal's ``event`` entries, once there are ``n`` (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for path in sorted((state_dir / "journal").glob("*.md")):
            for line in path.read_text().splitlines():
                parts = line.split(" | ")
                if len(parts) > 3 and parts[2] == event:
                    found.append(json.loads(parts[3]))
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.mark.timeout(120)
def test_an_allowlisted_user_halts_reduces_and_resumes_with_confirmation(
    tree: TreeRun, botapi: BotApiServer
) -> None:
    """/reduce and /halt change the trading state at once; /resume changes nothing until
    ``/confirm <code>``; every change is in the halts store and the journal with the Telegram
    user as ``who``; /status, /positions and /help answer."""
    assert tree.status().trading_state == "ACTIVE"
    status = _say(botapi, "/status")
    assert "Trading state: ACTIVE" in status
    # the trading lines follow (this tree runs no execution or breaker: said so, not left out)
    assert "execution: no status report yet" in status
    assert "alert outbox: " in status  # its depth once the alerter has beaten
    assert "flat" in _say(botapi, "/positions")
    assert "/confirm <code>" in _say(botapi, "/help")

    assert "ACTIVE -> REDUCING" in _say(botapi, "/reduce risk too high")
    assert tree.status().trading_state == "REDUCING"
    assert "REDUCING -> HALTED" in _say(botapi, "/halt feed looks wrong")
    assert tree.status().trading_state == "HALTED"

    asked = _say(botapi, "/resume all clear now")
    code = re.search(r"/confirm (\d{6})", asked)
    assert code is not None, asked
    assert tree.status().trading_state == "HALTED"  # nothing changes before the confirmation
    assert "HALTED -> ACTIVE" in _say(botapi, f"/confirm {code.group(1)}")
    assert tree.status().trading_state == "ACTIVE"

    transitions = [(r.state.value if r.state else None, r.who, r.reason)
                   for r in _rows(tree.state_dir) if r.kind == "transition"]
    assert transitions[-3:] == [("REDUCING", WHO, "risk too high"),
                                ("HALTED", WHO, "feed looks wrong"),
                                ("ACTIVE", WHO, "all clear now")]
    admin = _journal(tree.state_dir, "AdminCommandReceived", 3)
    assert [(e["command"], e["who"]) for e in admin] == [
        ("reduce", WHO), ("halt", WHO), ("resume", WHO)]
    accepted = _journal(tree.state_dir, "TelegramCommandAccepted", 7)
    assert [e["command"] for e in accepted] == [
        "status", "positions", "help", "reduce", "halt", "resume", "confirm"]
    assert {e["who"] for e in accepted} == {WHO}


@pytest.mark.timeout(120)
def test_a_wrong_confirmation_does_not_resume_and_reduce_out_of_a_halt_is_confirmed(
    tree: TreeRun, botapi: BotApiServer
) -> None:
    """A wrong code cancels the resume; a /confirm with nothing pending does nothing; /reduce
    out of HALTED (a loosening) waits for its own code too."""
    assert "HALTED" in _say(botapi, "/halt drill")
    asked = _say(botapi, "/resume go")
    assert "/confirm" in asked
    assert "wrong code" in _say(botapi, "/confirm 000000x")
    assert "no command of yours is waiting" in _say(botapi, "/confirm 123456")
    assert tree.status().trading_state == "HALTED"
    asked = _say(botapi, "/reduce exits only")
    code = re.search(r"/confirm (\d{6})", asked)
    assert code is not None, asked
    assert tree.status().trading_state == "HALTED"
    assert "HALTED -> REDUCING" in _say(botapi, f"/confirm {code.group(1)}")
    assert tree.status().trading_state == "REDUCING"


@pytest.mark.timeout(120)
def test_each_refusal_gets_its_reply_a_count_and_a_yellow_alert(
    tree: TreeRun, botapi: BotApiServer
) -> None:
    """A user not on the list, a chat not on the list, an edited and a forwarded message are
    refused with a reply saying why, nothing changes, strangers are alerted YELLOW by name, and
    a 10 kB reason is cut to its first 500 characters, the reply saying so."""
    assert "user 2002 may not" in _say(botapi, "/halt gotcha", user=2002, username="mallory")
    assert "chat (777) may not" in _say(botapi, "/halt gotcha", chat=777)
    assert "edited message" in _say(botapi, "/halt edited", edited=True)
    assert "forwarded message" in _say(botapi, "/halt fwd", forwarded=True)
    assert tree.status().trading_state == "ACTIVE"

    # The first refusal is alerted at once; the next ones within 10 s in one summary naming
    # who tried.
    assert botapi.wait_for(lambda s: len(s.sent_to(ALERT_CHAT)) >= 2, timeout=30), (
        botapi.sent_to(ALERT_CHAT))
    alerts = botapi.sent_to(ALERT_CHAT)
    mallory = [t for t in alerts if "telegram:2002 @mallory" in t]
    assert mallory, alerts
    assert "TelegramCommandRefused" in alerts[1], alerts
    assert WHO in alerts[1], alerts
    assert alerts[1].startswith("🟡 YELLOW"), alerts
    assert mallory[0].startswith("🟡 YELLOW")
    refused = _journal(tree.state_dir, "TelegramCommandRefused", 4)
    assert [(e["who"], e["why"], e["refused_total"]) for e in refused] == [
        ("telegram:2002 @mallory", "user 2002 not allowed", 1),
        (WHO, "chat 777 not allowed", 2),
        (WHO, "edited message", 3),
        (WHO, "forwarded message", 4),
    ]

    reply = _say(botapi, "/halt " + "x" * 10_240)
    assert "HALTED" in reply
    assert "cut to its first 500 characters" in reply
    assert len(reply) < 4096
    assert tree.status().trading_state == "HALTED"
    last = _rows(tree.state_dir)[-1]
    assert last.who == WHO
    assert last.reason == "x" * 500


@pytest.mark.timeout(120)
def test_halt_from_telegram_works_with_the_supervisor_frozen(
    tree: TreeRun, botapi: BotApiServer
) -> None:
    """Layer 3: the supervisor does not answer, so /halt writes HALTED into the halts store
    itself, with the Telegram user as who, and says so."""
    os.kill(tree.pid, signal.SIGSTOP)
    wait_stopped(tree.pid)
    try:
        reply = _say(botapi, "/halt supervisor wedged")
        assert "did not answer" in reply
        assert "halts store" in reply
        last = _rows(tree.state_dir)[-1]
        assert (last.state.value if last.state else None, last.who) == ("HALTED", WHO)
        # Only a halt goes to the store by hand; loosening waits for the supervisor.
        assert "Nothing changed" in _say(botapi, "/reduce try")
        assert _rows(tree.state_dir)[-1] == last
    finally:
        os.kill(tree.pid, signal.SIGCONT)


@pytest.mark.timeout(120)
def test_an_alert_goes_out_within_5_s_while_getupdates_hangs_then_fails(
    tree: TreeRun, botapi: BotApiServer, bus_for: Callable[[TreeRun], Bus]
) -> None:
    """Commands and alerts share the token, not their failure: with ``getUpdates`` hung, then
    answering 502, a queued alert is still delivered within 5 s; once polling works again,
    commands are answered again."""
    bus = bus_for(tree)
    botapi.hang_next(1, seconds=30, methods=("getUpdates",))
    assert botapi.wait_for(lambda s: any(x.method == "getUpdates" and x.outcome == "hang"
                                         for x in s.seen), timeout=10)
    bus.publish(BreakerReset(reason="while getUpdates hangs #1"))
    assert botapi.wait_for(lambda s: any("#1" in t for t in s.sent_to(ALERT_CHAT)), timeout=5)

    botapi.fail_for(20, 502, methods=("getUpdates",))
    mark = len(botapi.seen)
    assert botapi.wait_for(lambda s: any(x.method == "getUpdates" and x.outcome == "502"
                                         for x in s.seen[mark:]), timeout=15)
    bus.publish(BreakerReset(reason="while getUpdates fails #2"))
    assert botapi.wait_for(lambda s: any("#2" in t for t in s.sent_to(ALERT_CHAT)), timeout=5)

    botapi.clear_faults()
    assert "Trading state" in _say(botapi, "/status")  # within 15 s of the faults' end
