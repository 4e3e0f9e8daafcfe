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


class TelegramCommandAccepted(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A Telegram command from an allowlisted chat and user was carried out (for the journal;
    a state change is also recorded by the supervisor as ``AdminCommandReceived``)."""

    command: str
    """status, positions, halt, reduce, resume, confirm or help."""
    who: str
    """The Telegram user (``telegram:<user id> @username``)."""
    chat_id: int
    """Chat it came from."""
    reason: str
    """Its reason ('' for commands without one)."""
    result: str
    """What came of it (the transition, ``asked for confirmation``, a refusal by the tree)."""


class TelegramCommandRefused(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A Telegram message was not acted on (not allowlisted, edited, forwarded, malformed)."""

    who: str
    """Who tried (``telegram:<user id> @username``)."""
    chat_id: int
    """Chat it came from."""
    text: str
    """The start of what was sent (at most 80 characters)."""
    why: str
    """Why it was refused."""
    refused_total: int
    """Refusals since the alerter started."""
