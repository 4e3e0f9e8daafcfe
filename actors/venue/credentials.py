"""The venue API key and secret: from systemd credentials or the environment, never config.

A systemd credential (``LoadCredential=venue-key:...`` / ``venue-secret``, read from
``$CREDENTIALS_DIRECTORY``) wins over the environment when both are given: the service unit is
what an operator deploys and audits, while the environment leaks into child processes,
``/proc/<pid>/environ`` and crash reports, so an env var left behind from a shell must not
silently override the credential the unit names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from actors.venue.errors import MissingCredential

KEY_ENV = "QUANTFUND_VENUE_KEY"
"""Environment variable holding the API key."""
SECRET_ENV = "QUANTFUND_VENUE_SECRET"  # noqa: S105 - the variable's name, not a secret
"""Environment variable holding the API secret."""
KEY_FILE = "venue-key"
"""systemd credential name (file in ``$CREDENTIALS_DIRECTORY``) of the API key."""
SECRET_FILE = "venue-secret"  # noqa: S105 - a credential name, not a secret
"""systemd credential name of the API secret."""


@dataclass(frozen=True)
class Credentials:
    """An API key pair; its repr shows neither the secret nor the whole key."""

    key: str = field(repr=False)
    """API key (public-ish, but shown only as its last 4 characters)."""
    secret: str = field(repr=False)
    """API secret: never printed or logged."""

    def __repr__(self) -> str:
        """Masked: ``Credentials(key='…abcd', secret='***')`` (a key under 12 characters is
        masked whole: its last 4 would be most of it)."""
        shown = f"…{self.key[-4:]}" if len(self.key) >= 12 else "***"
        return f"Credentials(key='{shown}', secret='***')"

    __str__ = __repr__


def _one(
    which: str, env_var: str, file_name: str,
    env: Mapping[str, str], credentials_dir: Path | None,
) -> str:
    if credentials_dir is not None:
        try:
            value = (credentials_dir / file_name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        if value:
            return value
    value = env.get(env_var, "").strip()
    if not value:
        raise MissingCredential(which, env_var, file_name)
    return value


def load_credentials(env: Mapping[str, str], credentials_dir: Path | None) -> Credentials:
    """Key and secret, each from ``credentials_dir`` if its file is there, else from ``env``.

    Args:
        env: The process environment (``os.environ``), passed in so tests need no globals.
        credentials_dir: ``$CREDENTIALS_DIRECTORY`` as a path, or None outside systemd.

    Raises:
        MissingCredential: Naming which one is missing and both ways to give it.
    """
    return Credentials(
        key=_one("key", KEY_ENV, KEY_FILE, env, credentials_dir),
        secret=_one("secret", SECRET_ENV, SECRET_FILE, env, credentials_dir),
    )
