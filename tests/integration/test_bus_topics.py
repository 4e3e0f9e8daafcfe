"""An actor that narrows its subscription (``BaseActor.bus_topics``, as the journal does with its
``exclude``) is never handed, nor woken by, the events it left out: the hub's socket filters
them. The same actor without the exclusion sees them, so the filter is what keeps them out."""

from __future__ import annotations

import pytest

from actors import wire
from actors._runtime.messages import Event
from actors.journal.actor import JournalActor
from actors.journal.config import JournalConfig

TOPICS = """
[supervisor]
children = ["topics", "flood"]
[children.topics]
actor = "tests.support.flood:TopicsActor"
args = {{ exclude = {exclude} }}
[children.flood]
actor = "tests.support.flood:FloodActor"
args = {{ delay_s = 0.3, n = 5 }}
"""


@pytest.mark.parametrize("exclude", [[], ["PriceTick"]])
def test_an_excluded_event_type_never_reaches_the_actor(tree_factory, exclude) -> None:
    tree = tree_factory(TOPICS.format(exclude=exclude))
    tree.wait_started()
    # The flood's end comes after its six price ticks, from the same publisher: in bus order.
    tree.wait_for("topics_saw", lambda ln: ln["type"] == "FeedEnded", timeout=30)
    seen = [ln["type"] for ln in tree.events("topics_saw")]
    ticks = seen.count("PriceTick")
    assert ticks == (0 if exclude else 6), seen
    assert "Heartbeat" in seen  # the rest of the bus still arrives


def test_the_journal_subscribes_to_every_event_type_but_the_excluded() -> None:
    events = {t.__name__ for t in wire.codec().types if issubclass(t, Event)}
    config = JournalConfig()
    topics = JournalActor.bus_topics(config)
    assert set(topics) == events - set(config.exclude)
    assert "PriceTick" not in topics
    assert "OrderFilled" in topics
    # Nothing excluded: every event type, so a new one is journaled by construction.
    assert set(JournalActor.bus_topics(JournalConfig(exclude=[]))) == events
