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
