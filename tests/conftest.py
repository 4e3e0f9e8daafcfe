"""Shared fixtures: a real tree per test, always stopped, with no process left behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.tree import TreeRun

# These machines are shared and noisy: a property must not fail because generating its inputs
# was slow or one example took long under load. What a property asserts is unchanged.
settings.register_profile(
    "quantfund", suppress_health_check=[HealthCheck.too_slow], deadline=None
)
settings.load_profile("quantfund")


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
