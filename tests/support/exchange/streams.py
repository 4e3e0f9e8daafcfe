"""Binance market streams over websocket: /ws, /ws/<streams>, /stream; SUBSCRIBE and events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

CHANNELS = ("ticker", "miniTicker", "bookTicker", "trade", "aggTrade")


class Conn:
    """One websocket: its streams, and whether events come wrapped (combined /stream)."""

    def __init__(self, ws: web.WebSocketResponse, combined: bool) -> None:
        self.ws = ws
        self.combined = combined
        self.streams: set[str] = set()


class Hub:
    """Every open websocket; ``publish`` sends an event to those subscribed to its stream."""

    def __init__(self, snapshot: Callable[[str, str], dict[str, Any] | None]) -> None:
        self.conns: set[Conn] = set()
        self.paused = False
        self.subscribes: list[str] = []   # every stream ever subscribed, for tests
        self.sent = 0
        self._snapshot = snapshot          # (symbol, channel) -> current event, sent on subscribe

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one websocket connection until it closes."""
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        path = request.path
        combined = path.startswith("/stream")
        conn = Conn(ws, combined)
        initial = request.query.get("streams", "") if combined else path[len("/ws"):].strip("/")
        for name in initial.split("/"):
            if "@" in name:
                conn.streams.add(name)
        self.conns.add(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._control(conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.conns.discard(conn)
        return ws

    async def _control(self, conn: Conn, data: str) -> None:
        try:
            req = json.loads(data)
            method, rid = req["method"], req.get("id")
        except (ValueError, KeyError, TypeError):
            await conn.ws.send_json({"error": {"code": 3, "msg": "Invalid JSON"}})
            return
        params = req.get("params") or []
        if method == "SUBSCRIBE":
            conn.streams.update(params)
            self.subscribes.extend(params)
            await conn.ws.send_json({"result": None, "id": rid})
            for name in params:  # Binance pushes the next event soon; send the current one now
                sym, _, channel = name.partition("@")
                event = self._snapshot(sym.upper(), channel)
                if event is not None and not self.paused:
                    await self._send(conn, name, event)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
            await conn.ws.send_json({"result": None, "id": rid})
        elif method == "LIST_SUBSCRIPTIONS":
            await conn.ws.send_json({"result": sorted(conn.streams), "id": rid})
        else:
            await conn.ws.send_json({"error": {"code": 2, "msg": "Invalid request"}, "id": rid})

    async def _send(self, conn: Conn, stream: str, event: dict[str, Any]) -> None:
        payload = {"stream": stream, "data": event} if conn.combined else event
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.send_json(payload)
            self.sent += 1

    async def publish(self, symbol: str, channel: str, event: dict[str, Any]) -> None:
        """Send ``event`` to every connection subscribed to ``<symbol>@<channel>``."""
        if self.paused:
            return
        stream = f"{symbol.lower()}@{channel}"
        for conn in list(self.conns):
            if stream in conn.streams:
                await self._send(conn, stream, event)

    async def close_all(self) -> int:
        """Close every websocket (code 1001 going away, as Binance does on maintenance)."""
        conns, self.conns = list(self.conns), set()
        for conn in conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"closed"), 2)
        return len(conns)
