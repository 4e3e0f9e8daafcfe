"""The fleet's NATS credentials: from systemd credentials or the environment, never config.

The same order as the venue's keys (``actors.venue.credentials``): a systemd credential file
in ``$CREDENTIALS_DIRECTORY`` wins over the environment, which leaks into children and crash
reports. Either a user and password, or an nkey seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.fleet.errors import FleetCredentialMissing

USER_ENV = "QUANTFUND_FLEET_USER"
"""Environment variable holding the NATS user."""
PASSWORD_ENV = "QUANTFUND_FLEET_PASSWORD"  # noqa: S105 - the variable's name, not a secret
"""Environment variable holding the NATS password."""
NKEY_ENV = "QUANTFUND_FLEET_NKEY_SEED"
"""Environment variable holding an nkey seed (instead of user and password)."""
USER_FILE = "fleet-user"
"""systemd credential name of the NATS user."""
PASSWORD_FILE = "fleet-password"  # noqa: S105 - a credential name, not a secret
"""systemd credential name of the NATS password."""
NKEY_FILE = "fleet-nkey-seed"
"""systemd credential name of the nkey seed."""


@dataclass(frozen=True)
class FleetCredentials:
    """How to authenticate to the fleet's servers; its repr shows no secret."""

    user: str = ""
    """NATS user (with ``password``)."""
    password: str = field(default="", repr=False)
    """NATS password: never printed or logged."""
    nkey_seed: str = field(default="", repr=False)
    """nkey seed file content (``SU...``), instead of user/password."""

    def __repr__(self) -> str:
        """Masked: the user, never a secret."""
        how = "nkey" if self.nkey_seed else f"user={self.user!r}"
        return f"FleetCredentials({how}, secret='***')"

    __str__ = __repr__


def _one(env_var: str, file_name: str, env: Mapping[str, str], where: Path | None) -> str:
    if where is not None:
        try:
            value = (where / file_name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        if value:
            return value
    return env.get(env_var, "").strip()


def load_credentials(env: Mapping[str, str], credentials_dir: Path | None) -> FleetCredentials:
    """The fleet's credentials: an nkey seed if one is given, else user and password.

    Args:
        env: The process environment (``os.environ``), passed in so tests need no globals.
        credentials_dir: ``$CREDENTIALS_DIRECTORY`` as a path, or None outside systemd.

    Raises:
        FleetCredentialMissing: Neither a seed nor both user and password; says where they go.
    """
    seed = _one(NKEY_ENV, NKEY_FILE, env, credentials_dir)
    if seed:
        return FleetCredentials(nkey_seed=seed)
    user = _one(USER_ENV, USER_FILE, env, credentials_dir)
    password = _one(PASSWORD_ENV, PASSWORD_FILE, env, credentials_dir)
    if user and password:
        return FleetCredentials(user=user, password=password)
    missing = "password" if user else "user" if password else "user and password"
    raise FleetCredentialMissing(
        f"fleet credentials missing ({missing}): set ${USER_ENV} and ${PASSWORD_ENV} (or "
        f"${NKEY_ENV}), or the systemd credentials '{USER_FILE}' / '{PASSWORD_FILE}' (or "
        f"'{NKEY_FILE}') in $CREDENTIALS_DIRECTORY; never in the config file"
    )
