"""The daily report from the journal: the pure fold, ``quantfund report``, the anchor, the chart.

The day is written by the real journal actor with an injected clock
(``tests/support/trading_day.py``); the session boundary is crossed by that clock, and the
report is built from the day file alone.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib.image
import pytest

from actors.journal import daily
from actors.journal.chain import GENESIS, make_entry
from actors.journal.daily_chart import (
    DRAWDOWN_LABEL,
    EQUITY_LABEL,
    figure,
    legend_labels,
    render_png,
)
from actors.journal.daily_text import render_text
from actors.journal.layout import day_path, list_days
from actors.journal.verify import day_final_hash, verify
from actors.journal.writer import FsyncPolicy, JournalWriter
from supervisor.cli import main
from tests.support.trading_day import EXPECTED_DRAWDOWN_PCT, write_day

from .helpers import DAY1, DAY2, at

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def day_done(root: Path) -> str:
    """The scripted day written and its boundary crossed; the day's anchor published."""
    anchored = write_day(root)
    assert anchored.day == DAY1
    return anchored.final_hash


def _report(root: Path, day: str = DAY1) -> daily.DailyReport:
    entries, bad = daily.read_day(root, day)
    report = daily.build(day, entries, bad)
    assert daily.report_for(root, day) == report, "streaming and listing agree"
    return report


def test_the_report_holds_the_days_figures(root: Path, day_done: str) -> None:
    """P&L, trades, rejections by reason, trips, halts, restarts and the worst latencies are
    the ones the scripted day's entries carry; entries after midnight are not in it."""
    r = _report(root)
    assert r.realized_pnl == pytest.approx(110.0 - 50.0), "fills' realised, less commissions"
    assert r.fees == {"BNB": 0.01, "BTC": 0.0005, "USDT": 25.0}
    assert r.fees_value == pytest.approx(50.0), "BNB has no price here: not valued"
    assert ("Commissions: 0.01 BNB, 0.0005 BTC, 25 USDT (in cash 50.00, out of realised)"
            in render_text(r).splitlines())
    assert (r.equity_start, r.equity_end, r.equity_peak) == (100_000.0, 100_200.0, 100_900.0)
    assert r.equity_change == pytest.approx(200.0)
    assert r.max_drawdown_pct == pytest.approx(EXPECTED_DRAWDOWN_PCT)
    assert r.fills == 3
    assert r.fills_by_instrument == {"BTC/USDT": 2, "ETH/USDT": 1}
    assert r.notional == pytest.approx(56_000.0)
    assert r.rejections == {"max_notional": 2, "price_collar": 1}
    assert [t.what for t in r.breaker_trips] == ["drawdown"]
    assert r.breaker_halts == 1
    assert [(h.what, h.reason) for h in r.halts] == [("operator", "desk says stop")]
    assert r.state_changes == 2
    assert r.restarts == {"orchestrator": 1}
    assert r.exits == {"killed": 1}
    # The cancel 120 s after the halt is not the halt's; the one at 0.75 s is its last.
    assert r.latency.halt_to_last_cancel_s == pytest.approx(0.75, abs=1e-5)
    assert r.latency.heartbeat_silence_s == 1.25
    assert r.latency.feed_gap_s == 3.5
    assert r.latency.hang_s is None
    assert (r.first_seq, r.entries, r.bad_lines) == (1, r.last_seq, 0)
    assert len(r.equity_series) == 7


def test_the_anchor_in_the_report_is_the_one_journal_verify_checks(
    root: Path, day_done: str
) -> None:
    """The report's anchor is the day's final hash the journal actor published at the boundary
    and `day_final_hash` computes; verify with it as the day's anchor holds, and the text
    message ends with it."""
    r = _report(root)
    assert r.anchor == day_done == day_final_hash(root, DAY1)
    assert verify(root, anchors={DAY1: r.anchor}).ok
    assert render_text(r).splitlines()[-1] == f"Anchor: {r.anchor}"


def test_a_journal_rewritten_later_is_caught_by_the_anchor_from_the_chat(
    root: Path, day_done: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal rewritten whole (every hash recomputed, so its chain holds) passes verify on
    its own; checked against the anchor the chat kept (``journal verify --anchor``, as the
    README says), the rewritten day is caught."""
    chat_anchor = _report(root).anchor
    assert chat_anchor is not None
    given = ["journal", "verify", "--state-dir", str(root), "--anchor", f"{DAY1}={chat_anchor}"]
    assert main(given) == 0, capsys.readouterr().out
    entries, _ = daily.read_day(root, DAY1)
    later, _ = daily.read_day(root, DAY2)
    for day in list_days(root):
        day_path(root, day).unlink()
    with JournalWriter(root, fsync=FsyncPolicy.NONE) as journal:
        for entry in entries + later:
            fields = dict(entry.fields)
            if entry.event == "OrderFilled" and fields.get("realized_pnl") == -40.0:
                fields["realized_pnl"] = 400.0  # a loss turned into a gain
            journal.append(entry.event, fields, at=daily.epoch(entry.at))
    assert verify(root).ok, "a whole rewrite keeps the chain itself intact"
    assert _report(root).anchor != chat_anchor
    found = verify(root, anchors={DAY1: chat_anchor})
    assert not found.ok
    assert "anchor" in (found.problem or "")
    capsys.readouterr()
    assert main(given) == 1
    assert f"journal BROKEN at journal/{DAY1}.md" in capsys.readouterr().out
    assert main([*given[:-1], "2026-11-23=abc"]) == 2
    assert "is not DAY=HASH" in capsys.readouterr().err


def test_report_cli_json_is_the_same_report(
    root: Path, day_done: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``quantfund report --json`` prints the report the pure fold builds (the default day is
    the last finished one), and ``--png`` writes its chart."""
    png = tmp_path / "chart.png"
    assert main(["report", "--state-dir", str(root), "--json", "--png", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    want = _report(root)
    assert data["day"] == DAY1
    assert data["anchor"] == want.anchor
    assert data["rejections"] == want.rejections
    assert data["fills"] == 3
    assert data["equity_change"] == pytest.approx(200.0)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", "--state-dir", str(root), "--day", DAY1]) == 0
    assert capsys.readouterr().out.strip() == render_text(want)


def test_report_cli_refuses_a_bad_day_naming_it(
    root: Path, day_done: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --day that is not a date, or a day without a file, exits 2 with a message naming it."""
    assert main(["report", "--state-dir", str(root), "--day", "yesterday"]) == 2
    assert "'yesterday' is not a date" in capsys.readouterr().err
    assert main(["report", "--state-dir", str(root), "--day", "2026-01-01"]) == 2
    assert "no journal file for 2026-01-01" in capsys.readouterr().err


def test_the_chart_has_two_labelled_series_and_opens_as_a_png(
    root: Path, day_done: str
) -> None:
    """The figure's legends name the equity and the drawdown series; the PNG reads back as an
    image of the figure's size, not blank."""
    r = _report(root)
    fig = figure(r)
    assert legend_labels(fig) == [EQUITY_LABEL, DRAWDOWN_LABEL]
    lines = [ax.get_lines()[0] for ax in fig.axes]
    assert [len(line.get_xdata()) for line in lines] == [7, 7]
    assert min(lines[1].get_ydata()) == pytest.approx(-EXPECTED_DRAWDOWN_PCT)
    image = matplotlib.image.imread(io.BytesIO(render_png(r)), format="png")
    assert image.shape[:2] == (450, 800)
    assert image[..., :3].std() > 0.05, "the image is not blank"


def test_a_bad_line_is_counted_and_said(root: Path) -> None:
    """A line that is not a good entry is left out of the figures and counted in the report,
    whose text tells the reader to run the verifier."""
    with JournalWriter(root, fsync=FsyncPolicy.NONE) as journal:
        journal.append("OrderRejected", {"code": "invalid"}, at=at(DAY1, 9))
    path = day_path(root, DAY1)
    path.write_bytes(path.read_bytes() + b"- not an entry\n")
    r = _report(root)
    assert (r.entries, r.bad_lines, r.rejections) == (1, 1, {"invalid": 1})
    assert "1 lines are not good entries" in render_text(r)


def test_thin_keeps_the_ends_and_the_trough() -> None:
    """A long equity series is thinned to the cap with its first, last and lowest points."""
    series = [(float(i), 100.0 + (i % 7)) for i in range(5_000)]
    series[2_345] = (2_345.0, 1.0)
    entries = [make_entry(i + 1, "2026-11-23T09:00:00.000000Z", "EquityUpdated",
                          {"equity": e}, GENESIS) for i, (_, e) in enumerate(series)]
    r = daily.build(DAY1, entries)
    values = [e for _, e in r.equity_series]
    assert len(values) <= daily.MAX_SERIES_POINTS
    assert values[0] == series[0][1]
    assert values[-1] == series[-1][1]
    assert min(values) == 1.0
    assert r.max_drawdown_pct == pytest.approx((106.0 - 1.0) / 106.0 * 100.0)
