"""The feed's config refuses a key that would do nothing."""

from __future__ import annotations

import msgspec
import pytest

from actors.orchestrator.config import FeedConfig


def test_wake_on_update_is_refused_without_a_live_feed() -> None:
    """A simulated or replayed feed has no updates to wake the loop: said, naming both keys."""
    with pytest.raises(msgspec.ValidationError, match='wake_on_update needs kind = "venue"'):
        msgspec.convert({"kind": "sim", "wake_on_update": True}, FeedConfig)
    assert msgspec.convert({"kind": "venue", "wake_on_update": True}, FeedConfig).wake_on_update
