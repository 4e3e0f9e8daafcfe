"""Messages of the alerter actor."""

from __future__ import annotations

