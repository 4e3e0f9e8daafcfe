"""Shared fixtures: a real tree per test, always stopped, with no process left behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.tree import TreeRun


@pytest.fixture
def tree_factory(tmp_path: Path) -> Iterator[Callable[..., TreeRun]]:
    """Start trees with ``tree_factory(config_text)``; each is stopped and checked at the end."""
    runs: list[TreeRun] = []
    # ipc paths must stay short: pytest's tmp_path can be deep, so use a short sibling link.
    def start(config_text: str = "", **kw: object) -> TreeRun:
        run = TreeRun(tmp_path / f"t{len(runs)}", config_text, **kw)  # type: ignore[arg-type]
        runs.append(run)
        return run

    for i in range(8):
        (tmp_path / f"t{i}").mkdir()
    yield start
    for run in runs:
        run.stop()
