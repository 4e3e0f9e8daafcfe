"""The exchange a [venue] section builds: rehosted endpoints, our deadlines, ccxt's throttle
off, the testnet when asked, and a clear error for an id ccxt does not have."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from actors.venue.exchange import make_exchange


@dataclass
class Cfg:
    exchange: str = "binance"
    sandbox: bool = False
    rest_url: str = "http://127.0.0.1:9100"
    ws_url: str = "ws://127.0.0.1:9100"
    request_timeout_s: float = 2.5
    recv_window_ms: int = 3000


def _built(cfg: Cfg, **kw: Any) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        ex = make_exchange(cfg, **kw)
        try:
            return {"urls": ex.urls, "rate": ex.enableRateLimit, "timeout": ex.timeout,
                    "options": ex.options, "key": ex.apiKey}
        finally:
            await ex.close()

    return asyncio.run(go())


def test_rest_and_ws_go_to_the_configured_host_with_our_deadlines() -> None:
    """Every endpoint moved, spot only, recvWindow and timeout from the config, no throttle."""
    got = _built(Cfg(), key="k", secret="s")
    assert got["urls"]["api"]["private"] == "http://127.0.0.1:9100/api/v3"
    assert got["urls"]["api"]["sapi"] == "http://127.0.0.1:9100/sapi/v1"
    assert got["rate"] is False
    assert got["timeout"] == 2500
    assert got["options"]["recvWindow"] == 3000
    assert got["options"]["fetchMarkets"]["types"] == ["spot"]
    assert got["key"] == "k"
    streaming = _built(Cfg(), streaming=True)
    assert streaming["urls"]["api"]["ws"]["spot"] == "ws://127.0.0.1:9100/ws"


def test_sandbox_uses_the_testnet_and_empty_urls_keep_ccxts() -> None:
    """sandbox = true, no rest_url: ccxt's own testnet endpoints."""
    got = _built(Cfg(sandbox=True, rest_url="", ws_url=""))
    assert "testnet" in got["urls"]["api"]["public"]


def test_an_exchange_ccxt_does_not_have_is_named() -> None:
    """A typo in the id is an error that names it."""
    with pytest.raises(ValueError, match="'binanse'"):
        _built(Cfg(exchange="binanse"))
