"""Binance request authentication: API key header, HMAC-SHA256 signature, timestamp window."""

from __future__ import annotations

import hashlib
import hmac

from tests.support.exchange import errors

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000


def sign(query: str, secret: str) -> str:
    """The hex HMAC-SHA256 of ``query`` under ``secret`` (what a client appends as signature)."""
    return hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


def signed_payload(raw: str) -> tuple[str, str]:
    """Split a raw query/body into (the part that was signed, the signature sent)."""
    head, sep, sig = raw.rpartition("&signature=")
    if not sep:
        if raw.startswith("signature="):
            return "", raw[len("signature="):]
        return raw, ""
    return head, sig.split("&", 1)[0]


def check(
    *,
    api_key: str | None,
    keys: dict[str, str],
    query_string: str,
    body: str,
    params: dict[str, str],
    now_ms: int,
) -> str:
    """Verify a signed request as Binance does; return the key, raise ``BinanceError`` otherwise.

    Binance signs ``totalParams`` = query string concatenated with the body; ccxt puts everything
    in the query (GET/DELETE) or everything in the body (POST), so both orders reduce to one.
    """
    if not api_key:
        raise errors.BinanceError(errors.MANDATORY, name="X-MBX-APIKEY")
    secret = keys.get(api_key)
    if secret is None:
        raise errors.BinanceError(errors.INVALID_KEY)
    if "signature" not in params:
        raise errors.BinanceError(errors.MANDATORY, name="signature")
    if "timestamp" not in params:
        raise errors.BinanceError(errors.MANDATORY, name="timestamp")
    q_signed, q_sig = signed_payload(query_string)
    b_signed, b_sig = signed_payload(body)
    sent, total = (b_sig, query_string + b_signed) if b_sig else (q_sig, q_signed)
    if not hmac.compare_digest(sign(total, secret), sent.lower()):
        raise errors.BinanceError(errors.BAD_SIGNATURE)
    try:
        ts = int(params["timestamp"])
        window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW))
    except ValueError:
        raise errors.BinanceError(errors.ILLEGAL_CHARS, name="timestamp",
                                  legal="^[0-9]{1,20}$") from None
    if window > MAX_RECV_WINDOW or window <= 0:
        raise errors.BinanceError(errors.ILLEGAL_CHARS, name="recvWindow", legal="1..60000")
    if ts >= now_ms + 1000 or now_ms - ts > window:
        raise errors.BinanceError(errors.TIMESTAMP)
    return api_key
