"""rest_url / ws_url move every ccxt endpoint to another host, keeping its path."""

import pytest

from actors.venue.urls import rehost, rehost_all


def test_rest_and_ws_urls_take_their_own_hosts_and_keep_paths() -> None:
    """A REST URL takes rest_url's host, a websocket URL ws_url's; both keep their paths."""
    urls = {
        "public": "https://api.binance.com/api/v3",
        "ws": {"spot": "wss://stream.binance.com:9443/ws"},
        "doc": ["https://docs.example/x"],
        "n": 3,
    }
    out = rehost_all(urls, "http://127.0.0.1:9100", "ws://127.0.0.1:9101")
    assert out == {
        "public": "http://127.0.0.1:9100/api/v3",
        "ws": {"spot": "ws://127.0.0.1:9101/ws"},
        "doc": ["http://127.0.0.1:9100/x"],
        "n": 3,
    }


def test_a_prefix_in_the_setting_goes_before_the_path() -> None:
    """A gateway mounted under a prefix keeps the endpoint's path after it."""
    assert rehost("https://api.x.com/api/v3", "https://gw.local/binance/", "") == (
        "https://gw.local/binance/api/v3"
    )


def test_empty_settings_leave_urls_as_they_are() -> None:
    """No rest_url / ws_url: the exchange's own endpoints."""
    assert rehost("wss://stream.x.com/ws", "http://h:1", "") == "wss://stream.x.com/ws"
    assert rehost("https://api.x.com/v1", "", "ws://h:1") == "https://api.x.com/v1"


def test_a_setting_without_host_is_refused_by_name() -> None:
    """A rest_url that is not scheme://host is an error naming the setting."""
    with pytest.raises(ValueError, match="rest_url"):
        rehost("https://api.x.com/v1", "127.0.0.1:9100", "")
