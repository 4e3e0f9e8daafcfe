"""A local exchange speaking Binance spot's REST and websocket API, for tests (run: python -m)."""
