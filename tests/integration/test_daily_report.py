"""The daily report from a real tree: a finished day's anchor makes the alerter send the report
and its chart to the local Bot API server.

The state directory is prepared with the scripted day (``tests/support/trading_day.py``: the
real journal actor, its clock injected, crossing midnight into the next day). The tree's journal
actor finds that day finished and never anchored, publishes ``JournalAnchored`` at start, and the
alerter (``journal`` and ``alerter`` only run) queues and sends the report and its photo. (The
next day, holding only the boundary's entry, is reported as well when the tree's first entry of
today rolls the journal over.)
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib.image
import pytest

from actors.journal.verify import day_final_hash
from supervisor.journal_check import journal_check
from tests.support.botapi import BotApiServer
from tests.support.trading_day import DAY, write_day
from tests.support.tree import TreeRun

CHAT_ID = 4242


@pytest.mark.timeout(90)
def test_a_finished_day_is_reported_with_its_anchor_and_chart(
    tree_factory: Callable[..., TreeRun], botapi: BotApiServer, tmp_path: Path
) -> None:
    """The report message ends with the anchor ``journal verify`` checks the day against (the
    supervisor keeps it in the halts store), and the chart arrives as a PNG photo."""
    state = tmp_path / "t0" / "state"
    write_day(state)
    tree = tree_factory(f"""
[supervisor]
children = ["journal", "alerter"]
[alerter]
chat_id = "{CHAT_ID}"
base_url = "{botapi.base_url}"
""")
    assert tree.state_dir == state
    tree.wait_started()

    def reported(server: BotApiServer) -> bool:
        # The next day (the boundary's one entry) is reported too, once today's first entry
        # rolls the journal over: only the scripted day's pair is looked for.
        return any(d.photo is not None and DAY in d.text for d in server.delivered)

    assert botapi.wait_for(reported, timeout=30), [d.text[:60] for d in botapi.delivered]
    texts = [d.text for d in botapi.delivered if f"Daily report {DAY}" in d.text]
    assert len(texts) == 1, texts
    anchor = day_final_hash(state, DAY)
    assert texts[0].splitlines()[-1] == f"Anchor: {anchor}"
    check = journal_check(state)
    assert check.ok, check.report
    assert check.anchors[DAY] == anchor, "the halts store keeps the anchor the chat got"
    other = journal_check(state, {DAY: "0" * 64})
    assert not other.ok, "an anchor from the chat that is not the day's tail fails the check"
    assert other.conflicts == [f"day {DAY}: the anchor given ({'0' * 64}) is not the halts "
                               f"store's ({anchor})"]
    photo = next(d for d in botapi.delivered if d.photo is not None and DAY in d.text)
    assert photo.photo is not None
    assert matplotlib.image.imread(io.BytesIO(photo.photo), format="png").shape[:2] == (450, 800)
