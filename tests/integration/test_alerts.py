"""Alerts from a real tree to a local Bot API server: delivery, a kill-switch halt, the alerter
SIGKILLed mid-send, and (slow) a 60-second Telegram outage.

The tree runs ``journal`` and ``alerter`` only, so that the alerts are the ones a test causes.
The token reaches the tree's processes through the environment (``QUANTFUND_TELEGRAM_TOKEN``),
never through the config file; chat id and base URL come from the config.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable

import pytest

from actors._runtime.messages import Event, TamperingDetected
from actors.alerter.messages import ConfigChanged
from actors.alerter.outbox import RESEND_PREFIX, Resend
from actors.breaker.messages import BreakerReset
from actors.heartbeat.messages import HeartbeatMissed
from supervisor.admin_messages import CommandReply, HaltRequest
from supervisor.client import request
from tests.support.botapi import BotApiServer
from tests.support.bus import Bus
from tests.support.tree import TreeRun

CHAT_ID = 4242


def _config(server: BotApiServer) -> str:
    return f"""
[supervisor]
children = ["journal", "alerter"]
[alerter]
chat_id = "{CHAT_ID}"
base_url = "{server.base_url}"
"""


_MARK = re.compile(r"#(\d+)")


def _numbered(texts: list[str], prefix: str) -> list[int]:
    """The ``#n`` of each text that starts with ``prefix`` (resend markers stripped)."""
    out = []
    for sent in texts:
        text = sent
        for marker in RESEND_PREFIX.values():
            text = text.removeprefix(marker)
        if text.startswith(prefix):
            match = _MARK.search(text)
            assert match is not None, text
            out.append(int(match.group(1)))
    return out


def _iterations(tree: TreeRun, name: str) -> int:
    actor = next(a for a in tree.status().actors if a.name == name)
    return actor.iterations or 0


@pytest.mark.timeout(90)
def test_alerts_reach_telegram_and_an_admin_halt_is_red(
    tree_factory: Callable[..., TreeRun], botapi: BotApiServer, bus_for: Callable[[TreeRun], Bus]
) -> None:
    """Bus events become Telegram messages in the configured chat; ``quantfund halt`` through the
    admin socket arrives as RED alerts (the operator command and the state change)."""
    tree = tree_factory(_config(botapi))
    tree.wait_started()
    assert tree.wait_for("telegram_on")["token_source"] == "env"
    bus = bus_for(tree)
    bus.publish(BreakerReset(reason="window over #1"))
    assert botapi.wait_delivered(1, timeout=10), botapi.seen
    first = botapi.delivered[0]
    assert first.chat_id == CHAT_ID
    assert first.text == "🔵 INFO · breaker reset: window over #1; trading resumes"

    reply = request(tree.run_dir, HaltRequest(reason="runaway strategy", who="ops@test"),
                    timeout_s=5)
    assert isinstance(reply, CommandReply)

    def has_reds(server: BotApiServer) -> bool:
        return sum(m.text.startswith("🔴 RED") for m in server.delivered) >= 2

    assert botapi.wait_for(has_reds, timeout=10), [m.text for m in botapi.delivered]
    reds = [m.text for m in botapi.delivered if m.text.startswith("🔴 RED")]
    assert any(t.startswith("🔴 RED · HALTED by operator: runaway strategy (was ACTIVE)")
               for t in reds)
    assert any(t.startswith("🔴 RED · operator halt by ops@test: runaway strategy") for t in reds)
    alerter = next(a for a in tree.status().actors if a.name == "alerter")
    assert alerter.restored is not None
    assert alerter.restored["telegram"] is True


@pytest.mark.timeout(90)
def test_alerter_killed_mid_send_loses_nothing_and_marks_the_resend(
    tree_factory: Callable[..., TreeRun], botapi: BotApiServer, bus_for: Callable[[TreeRun], Bus]
) -> None:
    """Telegram takes the first message but its answer never comes; the alerter is SIGKILLed
    while waiting, with more alerts queued behind it. After the supervisor restarts it, the
    message whose fate was unknown is sent again marked ``(resent after restart)``, and every
    other alert arrives exactly once: nothing is lost, a duplicate is only ever a marked one."""
    tree = tree_factory(_config(botapi))
    tree.wait_started()
    botapi.hang_next(1, deliver=True, seconds=60)
    bus = bus_for(tree)
    bus.publish(BreakerReset(reason="first #0"))
    assert botapi.wait_for(lambda s: any(x.outcome == "hang" for x in s.seen), timeout=10)
    for n in range(1, 6):
        bus.publish(BreakerReset(reason=f"queued #{n}"))
    # The alerter counts an alert once it is committed to the outbox; its heartbeats carry it.
    deadline = time.monotonic() + 10
    while _iterations(tree, "alerter") < 6:
        assert time.monotonic() < deadline, "the alerter did not store the queued alerts"
        time.sleep(0.05)
    pid = tree.child_pid_cached("alerter")
    mark = tree.mark()
    os.kill(pid, signal.SIGKILL)
    tree.wait_for("child_started", lambda ln: ln["child"] == "alerter", after=mark, timeout=15)
    assert tree.wait_for("alerts_resent_after_restart", after=mark)["count"] == 1

    def all_in(server: BotApiServer) -> bool:
        texts = [m.text for m in server.delivered]
        return sorted(_numbered(texts, "🔵 INFO · breaker reset")) == [0, 0, 1, 2, 3, 4, 5]

    assert botapi.wait_for(all_in, timeout=20), [m.text for m in botapi.delivered]
    texts = [m.text for m in botapi.delivered]
    marked = [t for t in texts if t.startswith(RESEND_PREFIX[Resend.RESTART])]
    assert marked == [RESEND_PREFIX[Resend.RESTART]
                      + "🔵 INFO · breaker reset: first #0; trading resumes"]
    assert _numbered(texts, "🔵 INFO · breaker reset") == [0, 0, 1, 2, 3, 4, 5]
    # The restart itself is news: the supervisor's ChildStarted(restarts=1) reached the alerter.
    assert any(t.startswith("🟡 YELLOW · alerter restarted (restart #1") for t in texts)


OUTAGE_S = 60.0


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sixty_second_outage_then_every_alert_exactly_once_in_order(
    tree_factory: Callable[..., TreeRun], botapi: BotApiServer, bus_for: Callable[[TreeRun], Bus]
) -> None:
    """The Bot API is down for 60 s (real time) while alerts of all three severities keep coming
    (one a second); once it is back on the same port, every alert is delivered exactly once, in
    order within each severity, within one capped backoff (15 s) of the recovery."""
    tree = tree_factory(_config(botapi))
    tree.wait_started()
    bus = bus_for(tree)
    botapi.down()
    kinds: list[tuple[str, Event]] = []
    start = time.monotonic()
    for n in range(60):
        which = n % 3
        if which == 0:
            item = ("🔴 RED · tampering", TamperingDetected(store="test", problem=f"drill #{n}"))
        elif which == 1:
            item = ("🟡 YELLOW · ", HeartbeatMissed(actor=f"drill-#{n}", silent_s=2.0))
        else:
            item = ("🔵 INFO · breaker reset", BreakerReset(reason=f"drill #{n}"))
        kinds.append(item)
        bus.publish(item[1])
        time.sleep(max(0.0, start + (n + 1) * OUTAGE_S / 60 - time.monotonic()))
    assert botapi.delivered == []
    botapi.up()
    back = time.monotonic()
    assert botapi.wait_delivered(60, timeout=15 + 20), len(botapi.delivered)
    time.sleep(1.0)  # a duplicate would arrive right behind
    texts = [m.text for m in botapi.delivered]
    assert len(texts) == 60, texts
    assert botapi.delivered[0].at - back <= 16.0
    for prefix, expected in (
        ("🔴 RED · tampering", list(range(0, 60, 3))),
        ("🟡 YELLOW · ", list(range(1, 60, 3))),
        ("🔵 INFO · breaker reset", list(range(2, 60, 3))),
    ):
        assert _numbered(texts, prefix) == expected, prefix


@pytest.mark.timeout(60)
def test_without_a_token_alerts_go_to_the_log_and_telegram_off_is_said_once(
    tree_factory: Callable[..., TreeRun], monkeypatch: pytest.MonkeyPatch,
    bus_for: Callable[[TreeRun], Bus],
) -> None:
    """No token anywhere: the alerter says once, at start, that Telegram is off, and writes each
    alert to the log (at the level of its severity) instead; a config change reads as a diff."""
    monkeypatch.delenv("QUANTFUND_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    tree = tree_factory('[supervisor]\nchildren = ["journal", "alerter"]\n')
    tree.wait_started()
    bus = bus_for(tree)
    bus.publish(TamperingDetected(store="journal", problem="drill #1"))
    bus.publish(BreakerReset(reason="drill #2"))
    red = tree.wait_for("alert", lambda ln: ln.get("kind") == "TamperingDetected")
    assert red["level"] == "error"
    assert red["channel"] == "log"
    assert red["text"] == "🔴 RED · tampering detected in journal: drill #1"
    tree.wait_for("alert", lambda ln: ln.get("kind") == "BreakerReset")
    # What the supervisor publishes at start when the config changed (supervisor/config_audit).
    bus.publish(ConfigChanged(old_hash="a" * 64, new_hash="b" * 64,
                              diff=["breaker.max_drawdown_pct: 5.0 -> 3.0"]))
    change = tree.wait_for("alert", lambda ln: ln.get("kind") == "ConfigChanged")
    assert change["level"] == "info"
    assert change["text"].endswith("\n  breaker.max_drawdown_pct: 5.0 -> 3.0")
    assert len(tree.events("telegram_off")) == 1


@pytest.mark.timeout(60)
def test_drain_with_telegram_hung_is_bounded_and_the_alert_is_kept(
    tree_factory: Callable[..., TreeRun], botapi: BotApiServer, bus_for: Callable[[TreeRun], Bus]
) -> None:
    """SIGTERM while a ``sendMessage`` hangs: the alerter cuts the attempt short within its
    drain budget (no kill by the supervisor, exit 0), and the alert stays owed in the outbox, to
    be re-sent marked at the next start."""
    tree = tree_factory(_config(botapi))
    tree.wait_started()
    botapi.hang_next(1, deliver=False, seconds=60)
    bus_for(tree).publish(BreakerReset(reason="hung #1"))
    assert botapi.wait_for(lambda s: any(x.outcome == "hang" for x in s.seen), timeout=10)
    tree.signal(signal.SIGTERM)
    assert tree.wait_exit(timeout=30) == 0
    assert tree.events("shutdown_error") == []
    assert tree.events("alert_send_cut_short_by_drain")
    import sqlite3

    con = sqlite3.connect(tree.state_dir / "alerter-outbox.sqlite")
    try:
        rows = con.execute("SELECT text, sent_at, sending_since FROM alerts").fetchall()
    finally:
        con.close()
    assert [(text, sent) for text, sent, _ in rows] == [
        ("🔵 INFO · breaker reset: hung #1; trading resumes", None)
    ]
    assert rows[0][2] is not None, "the cut attempt stays open: the next start marks the resend"
