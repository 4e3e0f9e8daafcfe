"""The daily report at the session boundary: queued in the outbox, delivered to Telegram.

The boundary is crossed by the injected clock of the scripted day (the real journal actor
publishes ``JournalAnchored``); the alerter's report path then reads the day file read-only,
queues the text and the chart in the real outbox, and the real sender delivers them to the
local Bot API server: a message ending with the anchor, and a photo (multipart ``sendPhoto``).
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import matplotlib.image
import pytest

from actors.alerter.outbox import Outbox
from actors.alerter.report import CHART_KIND, TEXT_KIND, catch_up_day, enqueue_report
from actors.alerter.sender import Sender, make_bot
from actors.alerter.severity import Severity
from actors.alerter.templates import headline
from actors.journal.verify import day_final_hash, verify
from tests.support.botapi import BotApiServer
from tests.support.trading_day import DAY, at, write_day

from .helpers import CHAT_ID, run

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state directory whose journal holds the scripted day, its boundary crossed."""
    root = tmp_path / "tree-state"
    assert write_day(root).day == DAY
    return root


def test_report_and_chart_reach_telegram_at_the_boundary(
    state: Path, outbox_path: Path, botapi: BotApiServer
) -> None:
    """After the boundary, the report's text (ending with the day's anchor, the hash verify
    accepts as the day's anchor) and its chart as a photo arrive in the operator's chat."""

    async def scenario() -> list[int]:
        async with await Outbox.open(outbox_path) as outbox:
            ids = await enqueue_report(outbox, state, DAY)
            sender = Sender(outbox, bot=make_bot(botapi.token, base_url=botapi.base_url),
                            chat_id=CHAT_ID)
            try:
                await sender.run_once()
            finally:
                await sender.aclose()
            assert await outbox.unsent_count() == 0
            return ids

    ids = run(scenario())
    assert len(ids) == 2
    assert botapi.wait_delivered(2, timeout=10), botapi.seen
    text, photo = botapi.delivered
    anchor = day_final_hash(state, DAY)
    assert anchor is not None
    assert verify(state, anchors={DAY: anchor}).ok
    assert text.photo is None
    assert text.text.startswith(headline(Severity.INFO) + "Daily report 2026-11-23 (UTC)")
    assert text.text.splitlines()[-1] == f"Anchor: {anchor}"
    assert "Rejections: 3 (max_notional 2, price_collar 1)" in text.text
    assert [s.method for s in botapi.seen if s.outcome == "ok"][-1] == "sendPhoto"
    assert photo.photo is not None
    assert anchor in photo.text
    image = matplotlib.image.imread(io.BytesIO(photo.photo), format="png")
    assert image.shape[:2] == (450, 800)


def test_a_second_build_of_the_same_day_stores_nothing_new(
    state: Path, outbox_path: Path
) -> None:
    """A replayed ``JournalAnchored`` (or the start-up catch-up) builds the report again; the
    dedupe keys keep one text and one chart in the outbox."""

    async def scenario() -> tuple[list[int], list[int], list[str]]:
        async with await Outbox.open(outbox_path) as outbox:
            first = await enqueue_report(outbox, state, DAY)
            again = await enqueue_report(outbox, state, DAY)
            return first, again, [e.kind for e in await outbox.entries()]

    first, again, kinds = run(scenario())
    assert first == again
    assert kinds == [TEXT_KIND, CHART_KIND]


def test_an_outbox_of_schema_1_is_migrated_and_keeps_its_alerts(outbox_path: Path) -> None:
    """An outbox written before photos existed gains the column at open; its queued alert is
    still there, a text one."""
    con = sqlite3.connect(outbox_path)
    con.executescript("""
        CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, severity INTEGER NOT NULL,
            kind TEXT NOT NULL, text TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 1,
            dedupe_key TEXT UNIQUE, created_at REAL NOT NULL, attempts INTEGER NOT NULL
            DEFAULT 0, sending_since REAL, resend TEXT, next_attempt_at REAL NOT NULL DEFAULT 0,
            last_error TEXT, sent_at REAL, channel TEXT);
        INSERT INTO alerts (severity, kind, text, created_at) VALUES (2, 'Old', 'queued', 1.0);
        PRAGMA user_version=1;
    """)
    con.close()

    async def scenario() -> list[tuple[str, bytes | None]]:
        async with await Outbox.open(outbox_path) as outbox:
            return [(e.text, e.photo) for e in await outbox.pending()]

    assert run(scenario()) == [("queued", None)]


def test_catch_up_reports_only_the_last_finished_day_when_recent(state: Path) -> None:
    """At start the day before the latest day file is reported again (deduped) if it ended a
    day ago at most; not when it is old, and not when no day has finished."""
    assert catch_up_day(state, at(12) + 86_400) == DAY
    assert catch_up_day(state, at(12) + 86_400 * 5) is None
    assert catch_up_day(state / "nothing-here", at(12)) is None
