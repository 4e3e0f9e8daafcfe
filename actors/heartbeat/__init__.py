"""The heartbeat actor."""
