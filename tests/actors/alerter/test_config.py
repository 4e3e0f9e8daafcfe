"""Where the alerter's Telegram settings come from (actors/alerter/config.py)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from actors.alerter.config import (
    AlerterConfig,
    TelegramSettings,
    normalise_base_url,
    resolve_commands,
    resolve_telegram,
)
from supervisor.config import load

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


def _on() -> TelegramSettings:
    return TelegramSettings(token="t", chat_id="42", base_url="u", off_reason=None,
                            token_source="env")


def test_commands_are_off_by_default() -> None:
    """The shipped default: both allowlists empty, so no command is polled for."""
    cmds = resolve_commands(load().alerter, _on())
    assert not cmds.on
    assert "command_chat_ids" in str(cmds.off_reason)


@pytest.mark.parametrize(("chats", "users"), [([1], []), ([], [1])])
def test_commands_need_both_lists(chats: list[int], users: list[int]) -> None:
    """A chat list without a user list (or the reverse) leaves commands off."""
    cfg = AlerterConfig(command_chat_ids=chats, command_user_ids=users)
    assert not resolve_commands(cfg, _on()).on


def test_commands_need_telegram_on() -> None:
    """No token: no bot to poll, whatever the lists say."""
    cfg = AlerterConfig(command_chat_ids=[1], command_user_ids=[2])
    off = TelegramSettings(token=None, chat_id="", base_url="u", off_reason="no token",
                           token_source="none")
    cmds = resolve_commands(cfg, off)
    assert not cmds.on
    assert "no token" in str(cmds.off_reason)


def test_commands_on_with_both_lists() -> None:
    """Both lists set and Telegram on: commands on, for exactly those ids."""
    cfg = AlerterConfig(command_chat_ids=[-100, 5], command_user_ids=[7])
    cmds = resolve_commands(cfg, _on())
    assert cmds.on
    assert cmds.chat_ids == {-100, 5}
    assert cmds.user_ids == {7}


@pytest.mark.parametrize("bad", [0.5, 51.0])
def test_a_poll_timeout_out_of_range_is_refused(bad: float) -> None:
    """command_poll_s outside 1..50 s is an error naming the key."""
    with pytest.raises(msgspec.ValidationError, match="command_poll_s"):
        msgspec.convert({"command_poll_s": bad}, AlerterConfig)


def test_an_id_that_is_not_a_number_is_refused() -> None:
    """Telegram ids are numbers: a username in the list is an error, not a silent mismatch."""
    with pytest.raises(msgspec.ValidationError, match="command_user_ids"):
        msgspec.convert({"command_user_ids": ["@alice"]}, AlerterConfig)
