"""Config of the alerter actor."""

from __future__ import annotations

import msgspec


class AlerterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where alerts go. The token never lives here: ``QUANTFUND_TELEGRAM_TOKEN`` or the
    systemd credential ``telegram-token``."""

    chat_id: str = ""
    """Telegram chat id (or ``QUANTFUND_TELEGRAM_CHAT_ID``)."""
    base_url: str = ""
    """Bot API base URL for a self-hosted server (or ``QUANTFUND_TELEGRAM_BASE_URL``)."""
