"""Fixtures of the journal tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A fresh state directory (the journal goes in ``root / "journal"``)."""
    return tmp_path / "state"
