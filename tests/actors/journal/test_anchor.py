"""The journal actor's daily anchor: published at the rollover, and at start for a day missed.

The actor object is built directly (not started as a pykka thread); its hooks are called as the
runtime would and the effects they collect (writes, events) are inspected.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import msgspec
import pytest

from actors._runtime.codec import Envelope
from actors._runtime.messages import ChildStarted, JournalAnchored
from actors.journal.actor import ANCHORED_KEY, JournalActor
from actors.journal.config import JournalConfig
from actors.journal.verify import day_final_hash, verify
from actors.journal.writer import FsyncPolicy

from .helpers import DAY1, DAY2, DAY3, at, build

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def actors() -> Iterator[list[JournalActor]]:
    """Actors a test builds; their writers are closed (lock released) at the end."""
    made: list[JournalActor] = []
    yield made
    for actor in made:
        actor.on_stop()


def _actor(root: Path, made: list[JournalActor],
           snapshot: Mapping[str, bytes] | None = None) -> JournalActor:
    actor = JournalActor("journal", JournalConfig(fsync=FsyncPolicy.NONE), snapshot or {}, root)
    made.append(actor)
    return actor


def _event(day: str, n: int) -> Envelope[ChildStarted]:
    return Envelope(sender="test", msg_id=f"m{day}{n}", sent_at=at(day, 8, 0, n),
                    payload=ChildStarted(actor="x", pid=n, restarts=0))


def _anchors(actor: JournalActor) -> list[JournalAnchored]:
    return [e for e in actor._fx.events if isinstance(e, JournalAnchored)]


def test_rollover_publishes_the_finished_days_final_hash(
    root: Path, actors: list[JournalActor]
) -> None:
    """The first entry of a new UTC day publishes the previous day's final hash and last seq,
    and persists that day as anchored in the same call (written before it is published)."""
    actor = _actor(root, actors)
    for n in range(3):
        actor.on_event(_event(DAY1, n))
    assert _anchors(actor) == []
    actor.on_event(_event(DAY2, 0))
    assert _anchors(actor) == [
        JournalAnchored(day=DAY1, final_hash=day_final_hash(root, DAY1) or "", last_seq=3)
    ]
    assert actor._fx.writes[ANCHORED_KEY] == msgspec.msgpack.encode(DAY1)
    actor._fx.events.clear()
    actor.on_event(_event(DAY2, 1))
    assert _anchors(actor) == [], "only the first entry of a day anchors the previous one"
    assert actor.summary()["anchored"] == DAY1


def test_start_anchors_finished_days_whose_anchor_never_went_out(
    root: Path, actors: list[JournalActor]
) -> None:
    """Journal files for three days, nothing anchored yet: at start (on_ready) the two finished
    days are anchored, oldest first; the latest day is still open and waits for its rollover.
    With those anchors, verify passes."""
    build(root, {DAY1: 2, DAY2: 3, DAY3: 1})
    actor = _actor(root, actors)
    actor.on_ready()
    anchors = _anchors(actor)
    assert [(a.day, a.last_seq) for a in anchors] == [(DAY1, 2), (DAY2, 5)]
    assert all(a.final_hash == day_final_hash(root, a.day) for a in anchors)
    report = verify(root, anchors={a.day: a.final_hash for a in anchors})
    assert report.ok, report


def test_start_skips_days_already_anchored(root: Path, actors: list[JournalActor]) -> None:
    """A day persisted as anchored is not published again at the next start."""
    build(root, {DAY1: 2, DAY2: 3, DAY3: 1})
    actor = _actor(root, actors, {ANCHORED_KEY: msgspec.msgpack.encode(DAY1)})
    actor.on_ready()
    assert [a.day for a in _anchors(actor)] == [DAY2]


def test_an_empty_journal_anchors_nothing(root: Path, actors: list[JournalActor]) -> None:
    """A first start publishes no anchor, and neither does its first entry."""
    actor = _actor(root, actors)
    actor.on_ready()
    actor.on_event(_event(DAY1, 0))
    assert _anchors(actor) == []
