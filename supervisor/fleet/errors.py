"""Errors of the fleet plane, named for what happened."""

from __future__ import annotations

from supervisor.errors import SupervisorError


class FleetCredentialMissing(SupervisorError):
    """No fleet credentials in the environment or systemd credentials."""


class FleetUnreachable(SupervisorError):
    """No NATS server of the fleet answered in time."""


class FleetChangeConflict(SupervisorError):
    """Another fleet command changed the fleet state at the same moment; nothing was written."""


class FleetMessageMalformed(SupervisorError):
    """Bytes from NATS that do not decode to the fleet message expected there."""
