"""Venue code: a real exchange reached through ccxt (config, messages, pure rules, the client)."""
