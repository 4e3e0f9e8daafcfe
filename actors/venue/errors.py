"""Errors of the venue package: a missing credential, and venue input we refuse to believe."""

from __future__ import annotations

from typing import Any


class MissingCredential(Exception):
    """A venue API credential was given neither as a systemd credential nor in the environment."""

    def __init__(self, which: str, env_var: str, credential_file: str) -> None:
        self.which = which
        self.env_var = env_var
        self.credential_file = credential_file
        super().__init__(
            f"venue API {which} missing: set ${env_var}, or give the systemd credential "
            f"{credential_file!r} (LoadCredential={credential_file}:/path, read from "
            f"$CREDENTIALS_DIRECTORY/{credential_file}); never in a config file"
        )


class VenueBadInput(Exception):
    """Something the venue (through ccxt) returned is malformed: names the field and the value."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        self.detail = detail
        super().__init__(f"bad venue input: {what}: {detail}")


class UnknownClientOrder(VenueBadInput):
    """The venue reports an order under a client order id we never sent."""

    order: Any = None
    """The decoded order (``actors.venue.types.VenueOrder``), for the reconciler to adopt or
    cancel."""
