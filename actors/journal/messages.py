"""Messages of the journal actor."""

from __future__ import annotations

