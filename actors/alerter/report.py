"""The daily report, sent at the session boundary: built from the journal, queued in the outbox.

The journal actor publishes ``JournalAnchored`` when the first entry of a new UTC day is written
(and at start for a day finished while it was down). The alerter already turns that event into
an alert; here it also reads the finished day's file read-only, folds it into a `DailyReport`
(``actors/journal/daily.py``, the code ``quantfund report`` runs) and queues two INFO alerts: the
report's text, whose last line is the day's anchor, and the equity/drawdown chart as a photo.
The journal's writer path does no work for it. The file is read and the PNG drawn on a worker
thread, so neither the alerter's actor thread (its heartbeat) nor the sender waits for them.
Dedupe keys (``DailyReport:<day>``) make a second build of the same day (a replayed event, the
start-up catch-up) store nothing new.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from actors.alerter.outbox import Alert, Outbox
from actors.alerter.severity import Severity
from actors.alerter.templates import clip, headline
from actors.journal.daily import DailyReport, report_for
from actors.journal.daily_chart import render_png
from actors.journal.daily_text import render_text
from actors.journal.layout import list_days

TEXT_KIND = "DailyReport"
"""Outbox kind of the report's text."""
CHART_KIND = "DailyReportChart"
"""Outbox kind of the report's chart (a photo)."""
CATCH_UP_DAYS = 1
"""At start, the last finished day is reported if it ended at most this many days ago and its
report is not in the outbox yet (a crash between the anchor and the report's commit)."""


def make(state_dir: Path, day: str) -> tuple[DailyReport, bytes]:
    """The day's report and its chart, from the journal files (blocking: run it on a thread)."""
    report = report_for(state_dir, day)
    return report, render_png(report)


def alerts(report: DailyReport, png: bytes) -> list[Alert]:
    """The two outbox alerts for a report: its text, then its chart with a short caption."""
    text = clip(headline(Severity.INFO) + render_text(report))
    caption = (f"{headline(Severity.INFO)}{report.day} (UTC): equity and drawdown; anchor "
               f"{report.anchor or 'none'}")
    return [
        Alert(severity=Severity.INFO, kind=TEXT_KIND, text=text,
              dedupe_key=f"{TEXT_KIND}:{report.day}"),
        Alert(severity=Severity.INFO, kind=CHART_KIND, text=caption,
              dedupe_key=f"{CHART_KIND}:{report.day}", photo=png),
    ]


async def enqueue_report(outbox: Outbox, state_dir: Path, day: str) -> list[int]:
    """Build ``day``'s report on a worker thread and commit its alerts; their ids."""
    report, png = await asyncio.to_thread(make, state_dir, day)
    return [await outbox.enqueue(alert) for alert in alerts(report, png)]


def catch_up_day(state_dir: Path, now: float) -> str | None:
    """The finished day to report at start (see `CATCH_UP_DAYS`), or None."""
    days = list_days(state_dir)
    if len(days) < 2:
        return None
    finished = days[-2]
    today = dt.datetime.fromtimestamp(now, tz=dt.UTC).date()
    try:
        age = (today - dt.date.fromisoformat(finished)).days
    except ValueError:
        return None
    return finished if 0 < age <= CATCH_UP_DAYS + 1 else None
