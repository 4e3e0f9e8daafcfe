"""The orchestrator actor."""
