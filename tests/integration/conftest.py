"""Fixtures of the tests that run a tree against the local Bot API server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.botapi import BotApiServer
from tests.support.bus import Bus
from tests.support.tree import TreeRun


@pytest.fixture
def botapi(monkeypatch: pytest.MonkeyPatch) -> Iterator[BotApiServer]:
    """A local Bot API server, its token in the environment the tree inherits."""
    with BotApiServer() as server:
        monkeypatch.setenv("QUANTFUND_TELEGRAM_TOKEN", server.token)
        monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
        yield server


@pytest.fixture
def bus_for() -> Iterator[Callable[[TreeRun], Bus]]:
    """``bus_for(tree)``: a publisher onto the tree's bus, closed at the end."""
    made: list[Bus] = []

    def make(tree: TreeRun) -> Bus:
        made.append(Bus(tree.run_dir))
        return made[-1]

    yield make
    for bus in made:
        bus.close()
