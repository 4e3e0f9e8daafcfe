"""Config of the alerter actor, and where its Telegram settings come from at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

TOKEN_ENV = "QUANTFUND_TELEGRAM_TOKEN"  # noqa: S105 - the variable's name, not a secret
"""Environment variable holding the bot token."""
CHAT_ID_ENV = "QUANTFUND_TELEGRAM_CHAT_ID"
"""Environment variable holding the chat id (when the config has none)."""
BASE_URL_ENV = "QUANTFUND_TELEGRAM_BASE_URL"
"""Environment variable holding the Bot API base URL (when the config has none)."""
CREDENTIAL_NAME = "telegram-token"
"""systemd credential (``LoadCredential=telegram-token:...``) holding the bot token."""
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
"""Telegram's own Bot API."""


class AlerterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where alerts go. The token never lives here: ``QUANTFUND_TELEGRAM_TOKEN`` or the
    systemd credential ``telegram-token``."""

    chat_id: str = ""
    """Telegram chat id (or ``QUANTFUND_TELEGRAM_CHAT_ID``)."""
    base_url: str = ""
    """Bot API base URL for a self-hosted server (or ``QUANTFUND_TELEGRAM_BASE_URL``), e.g.
    ``http://127.0.0.1:8081``; ``/bot`` is appended when missing."""
    command_chat_ids: list[int] = msgspec.field(default_factory=list)
    """Chats whose Telegram commands are accepted; empty: commands off."""
    command_user_ids: list[int] = msgspec.field(default_factory=list)
    """Telegram users whose commands are accepted (in an allowed chat only); empty: off."""
    command_poll_s: float = 10.0
    """Long-poll timeout of ``getUpdates``, seconds (1 to 50)."""

    def __post_init__(self) -> None:
        """Refuse a poll timeout outside what Telegram and our own timeouts allow."""
        if not 1.0 <= self.command_poll_s <= 50.0:
            raise ValueError("alerter.command_poll_s must be between 1 and 50 seconds, not "
                             f"{self.command_poll_s}")


@dataclass(frozen=True)
class TelegramSettings:
    """What the sender needs, resolved from config, environment and credentials."""

    token: str | None
    """Bot token; None means Telegram is off."""
    chat_id: str
    """Chat that receives the alerts."""
    base_url: str
    """Bot API URL up to and including ``/bot``."""
    off_reason: str | None
    """Why Telegram is off (None when it is on)."""
    token_source: str
    """Where the token came from (``env``, ``credential``, or ``none``); never the token."""


def normalise_base_url(url: str) -> str:
    """``url`` ending in ``/bot`` (how python-telegram-bot joins it with the token)."""
    url = url.strip().rstrip("/")
    if not url:
        return TELEGRAM_BASE_URL
    return url if url.endswith("/bot") else url + "/bot"


def _read_credential(environ: Mapping[str, str]) -> str:
    folder = environ.get("CREDENTIALS_DIRECTORY", "")
    if not folder:
        return ""
    try:
        return (Path(folder) / CREDENTIAL_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def resolve_telegram(config: AlerterConfig, environ: Mapping[str, str]) -> TelegramSettings:
    """Telegram settings: token from the environment or the systemd credential (never the
    config), chat id and base URL from the config or else the environment.

    Args:
        config: The alerter's config section.
        environ: The process environment (``os.environ``).

    Returns:
        The settings; ``token`` is None (Telegram off) without a token or without a chat id.
    """
    token, source = environ.get(TOKEN_ENV, "").strip(), "env"
    if not token:
        token, source = _read_credential(environ), "credential"
    chat_id = config.chat_id.strip() or environ.get(CHAT_ID_ENV, "").strip()
    base_url = normalise_base_url(config.base_url or environ.get(BASE_URL_ENV, ""))
    off: str | None = None
    if not token:
        off, source = f"no token ({TOKEN_ENV} or credential {CREDENTIAL_NAME})", "none"
    elif not chat_id:
        off = f"no chat id (alerter.chat_id or {CHAT_ID_ENV})"
    return TelegramSettings(
        token=token if off is None else None,
        chat_id=chat_id,
        base_url=base_url,
        off_reason=off,
        token_source=source,
    )


@dataclass(frozen=True)
class CommandSettings:
    """Who may steer the tree through Telegram, resolved at start."""

    chat_ids: frozenset[int]
    """Allowed chats."""
    user_ids: frozenset[int]
    """Allowed users (a command needs both its chat and its user allowed)."""
    poll_s: float
    """Long-poll timeout of ``getUpdates``."""
    off_reason: str | None
    """Why commands are off (None when they are on)."""

    @property
    def on(self) -> bool:
        """Whether the bot polls for commands."""
        return self.off_reason is None


def resolve_commands(config: AlerterConfig, telegram: TelegramSettings) -> CommandSettings:
    """Commands are on only with Telegram on and both allowlists non-empty.

    Args:
        config: The alerter's config section.
        telegram: The resolved Telegram settings (commands share the bot token).

    Returns:
        The settings; ``off_reason`` says why they are off.
    """
    off: str | None = None
    if telegram.token is None:
        off = f"Telegram is off ({telegram.off_reason})"
    elif not config.command_chat_ids or not config.command_user_ids:
        off = "alerter.command_chat_ids or alerter.command_user_ids is empty"
    return CommandSettings(
        chat_ids=frozenset(config.command_chat_ids),
        user_ids=frozenset(config.command_user_ids),
        poll_s=config.command_poll_s,
        off_reason=off,
    )
