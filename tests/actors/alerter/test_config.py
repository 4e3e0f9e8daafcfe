"""Where the alerter's Telegram settings come from (actors/alerter/config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.alerter.config import AlerterConfig, normalise_base_url, resolve_telegram

pytestmark = pytest.mark.timeout(10)


def test_token_from_the_environment_chat_id_and_url_from_config() -> None:
    """Token from ``QUANTFUND_TELEGRAM_TOKEN`` (stripped); config values win over the env."""
    cfg = AlerterConfig(chat_id="42", base_url="http://127.0.0.1:8081")
    env = {"QUANTFUND_TELEGRAM_TOKEN": " 1:abc\n", "QUANTFUND_TELEGRAM_CHAT_ID": "7",
           "QUANTFUND_TELEGRAM_BASE_URL": "http://elsewhere/bot"}
    tg = resolve_telegram(cfg, env)
    assert (tg.token, tg.chat_id, tg.base_url) == ("1:abc", "42", "http://127.0.0.1:8081/bot")
    assert tg.off_reason is None
    assert tg.token_source == "env"


def test_systemd_credential_when_the_env_has_no_token(tmp_path: Path) -> None:
    """``$CREDENTIALS_DIRECTORY/telegram-token`` is read (whitespace stripped); chat id and base
    URL fall back to the environment."""
    (tmp_path / "telegram-token").write_text("2:xyz\n")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "QUANTFUND_TELEGRAM_CHAT_ID": "-100123",
           "QUANTFUND_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot/"}
    tg = resolve_telegram(AlerterConfig(), env)
    assert (tg.token, tg.chat_id, tg.base_url) == ("2:xyz", "-100123", "http://127.0.0.1:9/bot")
    assert tg.token_source == "credential"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({}, "no token"),
        ({"QUANTFUND_TELEGRAM_TOKEN": "   "}, "no token"),
        ({"CREDENTIALS_DIRECTORY": "/nonexistent-qf"}, "no token"),
        ({"QUANTFUND_TELEGRAM_TOKEN": "1:abc"}, "no chat id"),
    ],
)
def test_telegram_off_without_token_or_chat_id(env: dict[str, str], reason: str) -> None:
    """A missing (or blank) token, or no chat id anywhere: Telegram is off, and says why."""
    tg = resolve_telegram(AlerterConfig(), env)
    assert tg.token is None
    assert tg.off_reason is not None
    assert tg.off_reason.startswith(reason)


def test_base_url_defaults_to_telegram_and_gains_bot() -> None:
    """Empty means Telegram's own API; ``/bot`` is appended once, trailing slashes ignored."""
    assert normalise_base_url("") == "https://api.telegram.org/bot"
    assert normalise_base_url("http://h:1/") == "http://h:1/bot"
    assert normalise_base_url("http://h:1/bot") == "http://h:1/bot"
