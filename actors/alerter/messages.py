"""Messages of the alerter actor."""

from __future__ import annotations

from actors._runtime.messages import Event


class ConfigChanged(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The effective configuration differs from the last run's (published by the supervisor at
    start; secrets in ``diff`` are masked)."""

    old_hash: str
    """SHA-256 of the last run's effective config."""
    new_hash: str
    """SHA-256 of this run's effective config."""
    diff: list[str]
    """One line per changed key: ``dotted.key: old -> new`` (secret values masked)."""
