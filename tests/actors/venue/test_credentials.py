"""Venue credentials: where they come from, which wins, what a missing one says, masking."""

from pathlib import Path

import pytest

from actors.venue.credentials import Credentials, load_credentials
from actors.venue.errors import MissingCredential

ENV = {"QUANTFUND_VENUE_KEY": "env-key-1234", "QUANTFUND_VENUE_SECRET": "env-secret"}


def test_from_the_environment() -> None:
    """Without a credentials directory both come from the environment."""
    assert load_credentials(ENV, None) == Credentials("env-key-1234", "env-secret")


def test_systemd_credentials_win_over_the_environment(tmp_path: Path) -> None:
    """A credential file present in $CREDENTIALS_DIRECTORY beats the env var (trailing newline
    stripped); a missing file falls back to the env var for that one only."""
    (tmp_path / "venue-key").write_text("file-key-9999\n")
    assert load_credentials(ENV, tmp_path) == Credentials("file-key-9999", "env-secret")


@pytest.mark.parametrize(
    ("env", "which", "var", "file"),
    [
        ({}, "key", "QUANTFUND_VENUE_KEY", "venue-key"),
        ({"QUANTFUND_VENUE_KEY": "k"}, "secret", "QUANTFUND_VENUE_SECRET", "venue-secret"),
        ({"QUANTFUND_VENUE_KEY": "k", "QUANTFUND_VENUE_SECRET": "  "}, "secret",
         "QUANTFUND_VENUE_SECRET", "venue-secret"),
    ],
)
def test_a_missing_one_is_named_with_both_ways_to_give_it(
    tmp_path: Path, env: dict[str, str], which: str, var: str, file: str
) -> None:
    """The error names the missing credential, its env var and its systemd credential name."""
    with pytest.raises(MissingCredential) as info:
        load_credentials(env, tmp_path)
    text = str(info.value)
    assert info.value.which == which
    assert var in text
    assert file in text
    assert "CREDENTIALS_DIRECTORY" in text


def test_the_secret_never_shows_in_repr_or_str() -> None:
    """repr/str mask the secret entirely and show only the key's last 4 characters."""
    creds = Credentials("AKIAVERYLONGKEY1234", "s3cr3t-value")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "s3cr3t-value" not in text
        assert "AKIAVERYLONGKEY" not in text
        assert "1234" in text


def test_a_short_key_is_masked_whole() -> None:
    """A key too short for a safe suffix shows nothing of itself."""
    assert repr(Credentials("abcd1234", "s")) == "Credentials(key='***', secret='***')"
