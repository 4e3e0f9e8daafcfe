"""Point a ccxt exchange's endpoints at another host (``rest_url`` / ``ws_url``), paths kept.

A ccxt exchange names its endpoints as URLs in a nested dict (``exchange.urls['api']``). To send
every call elsewhere (a local exchange, a proxy, a gateway) each URL keeps its path and gets the
configured scheme, host and port: ``https://api.binance.com/api/v3`` with
``rest_url = "http://127.0.0.1:9100"`` becomes ``http://127.0.0.1:9100/api/v3``. Websocket URLs
(``ws``/``wss``) take ``ws_url`` instead. An empty setting leaves those URLs as ccxt has them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

_WS_SCHEMES = frozenset({"ws", "wss"})


def _base(url: str, what: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"{what} must be scheme://host[:port][/prefix], got {url!r}")
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def rehost(url: str, rest_url: str, ws_url: str) -> str:
    """One endpoint URL moved to the configured host (unchanged where that setting is empty)."""
    parts = urlsplit(url)
    target, what = (ws_url, "ws_url") if parts.scheme in _WS_SCHEMES else (rest_url, "rest_url")
    if not target or not parts.netloc:
        return url
    scheme, netloc, prefix = _base(target, what)
    return urlunsplit((scheme, netloc, prefix + parts.path, parts.query, parts.fragment))


def rehost_all(urls: Any, rest_url: str, ws_url: str) -> Any:
    """Every URL string in a nested dict/list of ccxt endpoint URLs, rehosted; others kept."""
    if isinstance(urls, dict):
        return {k: rehost_all(v, rest_url, ws_url) for k, v in urls.items()}
    if isinstance(urls, list):
        return [rehost_all(v, rest_url, ws_url) for v in urls]
    if isinstance(urls, str) and "://" in urls:
        return rehost(urls, rest_url, ws_url)
    return urls
