"""A local HTTP server that speaks the Telegram Bot API (getMe, sendMessage, sendPhoto,
getUpdates), with scripted faults.

Point the real ``telegram.Bot`` at it: ``Bot(token, base_url=server.base_url)``. It answers the
way Telegram does (``{"ok": true, "result": {...}}`` with a full Message object; errors as
``{"ok": false, "error_code": ..., "description": ...}``), records every message it delivered, and
can misbehave on request (``sendPhoto`` arrives as multipart/form-data, as the library uploads
a file; its caption is recorded as the text and the file's bytes as ``photo``):

* :meth:`BotApiServer.fail_next` / :meth:`BotApiServer.fail_for`: answer 502 (an nginx HTML page,
  as Telegram's front end does) or any other status, for N requests or for a time window;
* :meth:`BotApiServer.rate_limit_next`: answer 429 with ``parameters.retry_after``;
* :meth:`BotApiServer.hang_next`: read the request and never answer (optionally delivering it
  first, like a response lost on the way back);
* :meth:`BotApiServer.down` / :meth:`BotApiServer.up`: stop listening (connections refused,
  open connections cut) and listen again on the same port.

Incoming messages: :meth:`BotApiServer.send_update` queues a message from a given chat and user
(optionally edited or forwarded), which ``getUpdates`` hands out, long-polling as Telegram does
(an offset confirms and drops what came before it). :meth:`BotApiServer.sent_to` reads what the
bot answered in a chat; ``fail_for(..., methods=("getUpdates",))`` or ``hang_next`` make polling
fail while sending still works.

Scripted faults apply to ``sendMessage`` unless told otherwise. Threads: one serving thread and
one per connection; :meth:`BotApiServer.stop` (or leaving the ``with`` block) joins them all.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

DEFAULT_TOKEN = "123456789:AAEtestTOKENforTheLocalBotApiServer00"
"""A token shaped like a real one (the library does not check the shape, Telegram does)."""

BOT_ID = 123456789
BOT_USERNAME = "quantfund_test_bot"
MAX_TEXT = 4096
"""Telegram's limit on a message text, in characters."""
MAX_CAPTION = 1024
"""Telegram's limit on a photo's caption, in characters."""

_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Delivered:
    """A message the server accepted, in the order it accepted them."""

    chat_id: int | str
    """Target chat as the client sent it (int when numeric)."""
    text: str
    """Message text."""
    at: float
    """``time.monotonic()`` when it was accepted."""
    message_id: int
    """Id the server gave it."""
    photo: bytes | None = None
    """The uploaded file, for sendPhoto (``text`` is then its caption)."""


@dataclass(frozen=True)
class Seen:
    """Any request that reached a handler, whatever the answer."""

    method: str
    """Bot API method (``sendMessage``)."""
    at: float
    """``time.monotonic()`` when the request was read."""
    outcome: str
    """``ok``, ``hang``, or the HTTP status sent (``502``, ``429``, ``400``...)."""
    text: str | None
    """The message text, for sendMessage."""


@dataclass
class _Fault:
    kind: str  # "status" | "hang"
    methods: frozenset[str]
    remaining: int | None = None  # None: bounded by ``until`` instead
    until: float | None = None  # monotonic deadline
    status: int = 502
    description: str | None = None
    retry_after: int | None = None
    hang_s: float = 30.0
    deliver: bool = False
    after: int = 0  # matching requests to let through before the fault applies
    window_s: float | None = None  # ``until`` is set this long after the first match

    def active(self, now: float) -> bool:
        if self.until is None and self.window_s is not None:
            return True  # its window has not begun
        if self.until is not None:
            return now < self.until
        return self.remaining is None or self.remaining > 0


@dataclass
class _Generation:
    """One listening period between :meth:`BotApiServer.up` and :meth:`BotApiServer.down`."""

    server: _HTTPServer
    thread: threading.Thread
    stopping: threading.Event = field(default_factory=threading.Event)


class _HTTPServer(ThreadingHTTPServer):
    # Handler threads are joined on close (block_on_close); daemon threads would be left behind.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, port: int, owner: BotApiServer, stopping: threading.Event) -> None:
        self.owner = owner
        self.stopping = stopping
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Cut every open connection, so keep-alive clients see the server go away."""
        with self.connections_lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx and Telegram use
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True
    server: _HTTPServer
    timeout = 30  # an idle keep-alive connection is closed eventually even if never cut

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        """Silence per-request logging."""

    def do_GET(self) -> None:
        """The Bot API accepts GET with a query string as well."""
        self._handle(b"")

    def do_POST(self) -> None:
        """POST with form, JSON or query parameters."""
        length = int(self.headers.get("Content-Length") or 0)
        self._handle(self.rfile.read(length) if length else b"")

    def _handle(self, body: bytes) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = parts[0][3:], parts[1]
        params = _parse_params(url.query, self.headers.get("Content-Type", ""), body)
        owner = self.server.owner
        outcome = owner._respond(self, token, method, params)
        if outcome is not None:
            self._reply(*outcome)

    def _reply(self, status: int, payload: dict[str, Any] | bytes) -> None:
        if isinstance(payload, bytes):
            body, ctype = payload, "text/html"
        else:
            body, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _parse_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
    if content_type.startswith("application/json") and body:
        loaded = json.loads(body)
        if isinstance(loaded, dict):
            params.update(loaded)
    elif content_type.startswith("multipart/form-data") and body:
        params.update(_parse_multipart(content_type, body))
    elif body:
        params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    return params


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields as text, and uploaded files as bytes (an uploaded file has a filename)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        fields[name] = payload if part.get_filename() else payload.decode()
    return fields


def _chat_id(raw: Any) -> int | str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, int):
        return raw
    text = str(raw)
    with contextlib.suppress(ValueError):
        return int(text)
    return text  # "@channelname"


class BotApiServer:
    """The local Bot API; a context manager that starts it and stops it cleanly."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, port: int = 0) -> None:
        """Prepare a server (``start`` or ``with`` makes it listen).

        Args:
            token: The only token it accepts (others get 401 Unauthorized, as Telegram answers).
            port: Port to listen on; 0 picks a free one (kept across :meth:`down`/:meth:`up`).
        """
        self.token = token
        self.port = port
        self._lock = threading.Condition()
        self._faults: list[_Fault] = []
        self._delivered: list[Delivered] = []
        self._seen: list[Seen] = []
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._updates: list[dict[str, Any]] = []
        self.confirmed = 0
        """Highest update id the bot has confirmed (by polling with a larger offset)."""
        self._generation: _Generation | None = None
        self.latency_s = 0.0
        """Delay before answering each request that would succeed (a slow but working API)."""

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> BotApiServer:
        """Start listening."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop and join every thread."""
        self.stop()

    @property
    def base_url(self) -> str:
        """What to pass as ``Bot(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def is_up(self) -> bool:
        """Whether it is listening."""
        return self._generation is not None

    def start(self) -> None:
        """Start listening (same as :meth:`up`)."""
        self.up()

    def up(self) -> None:
        """Listen (again) on the same port."""
        if self._generation is not None:
            return
        stopping = threading.Event()
        server = _HTTPServer(self.port, self, stopping)
        self.port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"botapi-{self.port}",
        )
        thread.start()
        self._generation = _Generation(server=server, thread=thread, stopping=stopping)

    def down(self) -> None:
        """Stop listening: new connections are refused, open ones are cut, hangs end."""
        generation, self._generation = self._generation, None
        if generation is None:
            return
        generation.stopping.set()
        generation.server.shutdown()  # serve_forever returns: no new connections accepted
        generation.server.cut_connections()
        generation.server.server_close()  # closes the listening socket, joins handler threads
        generation.thread.join(timeout=10)
        with self._lock:
            self._lock.notify_all()

    def stop(self) -> None:
        """Stop for good (same as :meth:`down`); no thread is left behind."""
        self.down()

    # --- scripting ------------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int = 502,
        *,
        description: str | None = None,
        methods: Iterable[str] = ("sendMessage",),
    ) -> None:
        """Answer the next ``n`` matching requests with ``status``.

        Args:
            n: How many requests.
            status: HTTP status; 502 sends nginx's HTML page, others a Bot API error body.
            description: Error description (defaults to Telegram's wording for the status).
            methods: Which Bot API methods it applies to.
        """
        self._add(
            _Fault(
                "status", frozenset(methods), remaining=n, status=status, description=description
            )
        )

    def fail_for(
        self, seconds: float, status: int = 502, *, methods: Iterable[str] = ("sendMessage",),
        from_first: bool = False,
    ) -> None:
        """Answer every matching request with ``status`` for the next ``seconds`` (with
        ``from_first``: for ``seconds`` from the first matching request on, however long the
        client takes to start)."""
        if from_first:
            self._add(_Fault("status", frozenset(methods), status=status, window_s=seconds))
            return
        until = time.monotonic() + seconds
        self._add(_Fault("status", frozenset(methods), until=until, status=status))

    def rate_limit_next(
        self, n: int, retry_after: int, *, methods: Iterable[str] = ("sendMessage",)
    ) -> None:
        """Answer the next ``n`` matching requests 429 with ``retry_after`` seconds."""
        self._add(
            _Fault(
                "status",
                frozenset(methods),
                remaining=n,
                status=429,
                retry_after=retry_after,
                description=f"Too Many Requests: retry after {retry_after}",
            )
        )

    def hang_next(
        self,
        n: int,
        *,
        seconds: float = 30.0,
        deliver: bool = False,
        after: int = 0,
        methods: Iterable[str] = ("sendMessage",),
    ) -> None:
        """Read the next ``n`` matching requests and never answer them.

        Args:
            n: How many requests.
            after: Let this many matching requests through normally first.
            seconds: How long to hold each before closing the connection without an answer
                (cut short by :meth:`down`/:meth:`stop`); longer than the client's timeout.
            deliver: Record the message as delivered first, as when Telegram processed it but the
                answer was lost.
            methods: Which Bot API methods it applies to.
        """
        self._add(
            _Fault(
                "hang",
                frozenset(methods),
                remaining=n,
                hang_s=seconds,
                deliver=deliver,
                after=after,
            )
        )

    def clear_faults(self) -> None:
        """Forget every scripted fault still pending."""
        with self._lock:
            self._faults.clear()

    # --- observation ----------------------------------------------------------------------

    @property
    def delivered(self) -> list[Delivered]:
        """Messages accepted so far, in order (a copy)."""
        with self._lock:
            return list(self._delivered)

    @property
    def seen(self) -> list[Seen]:
        """Every request handled so far, in order (a copy)."""
        with self._lock:
            return list(self._seen)

    def wait_for(self, predicate: Callable[[BotApiServer], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds after some request, or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def wait_delivered(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` messages were delivered, or ``timeout`` passes."""
        return self.wait_for(lambda s: len(s._delivered) >= n, timeout)

    def sent_to(self, chat_id: int | str) -> list[str]:
        """Texts delivered to ``chat_id`` so far, in order."""
        return [d.text for d in self.delivered if d.chat_id == chat_id]

    def wait_sent_to(self, chat_id: int | str, n: int, timeout: float) -> list[str]:
        """Block until ``chat_id`` got ``n`` messages; the texts (AssertionError when not)."""
        if not self.wait_for(lambda s: len(s.sent_to(chat_id)) >= n, timeout):
            raise AssertionError(f"chat {chat_id} got {self.sent_to(chat_id)} within {timeout} s,"
                                 f" not {n} messages")
        return self.sent_to(chat_id)

    def send_update(
        self, chat_id: int, user_id: int | None, text: str, *, username: str = "",
        edited: bool = False, forwarded: bool = False,
    ) -> int:
        """Queue a message for the bot, as if ``user_id`` had sent ``text`` in ``chat_id``.

        Args:
            chat_id: Chat it is sent in (negative: a group).
            user_id: Sender; None for a channel post (no sender).
            text: Message text.
            username: Sender's @username ('' for none).
            edited: Deliver it as ``edited_message`` (with an ``edit_date``).
            forwarded: Give it a ``forward_origin`` (forwarded from another user).

        Returns:
            Its update id.
        """
        update_id = next(self._update_ids)
        now = int(time.time())
        message: dict[str, Any] = {
            "message_id": next(self._ids), "date": now, "text": text,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group",
                     **({"first_name": "Operator"} if chat_id > 0 else {"title": "Desk"})},
        }
        if user_id is not None:
            message["from"] = {"id": user_id, "is_bot": False, "first_name": "Op",
                               **({"username": username} if username else {})}
        if edited:
            message["edit_date"] = now
        if forwarded:
            message["forward_origin"] = {"type": "user", "date": now - 60, "sender_user": {
                "id": 999, "is_bot": False, "first_name": "Someone Else"}}
        kind = "message" if user_id is not None else "channel_post"
        if edited:
            kind = "edited_" + kind
        with self._lock:
            self._updates.append({"update_id": update_id, kind: message})
            self._lock.notify_all()
        return update_id

    def wait_confirmed(self, update_id: int, timeout: float) -> bool:
        """Block until the bot confirmed ``update_id`` (polled past it), or ``timeout`` passes."""
        return self.wait_for(lambda s: s.confirmed >= update_id, timeout)

    def wait_seen(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` requests were handled, or ``timeout`` passes."""
        return self.wait_for(lambda s: len(s._seen) >= n, timeout)

    # --- request handling (handler threads) -----------------------------------------------

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str, now: float) -> _Fault | None:
        with self._lock:
            self._faults = [f for f in self._faults if f.active(now)]
            for fault in self._faults:
                if method in fault.methods:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    if fault.until is None and fault.window_s is not None:
                        fault.until = now + fault.window_s
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def _record(
        self,
        method: str,
        at: float,
        outcome: str,
        text: str | None,
        delivered: Delivered | None = None,
    ) -> None:
        with self._lock:
            self._seen.append(Seen(method=method, at=at, outcome=outcome, text=text))
            if delivered is not None:
                self._delivered.append(delivered)
            self._lock.notify_all()

    def _respond(
        self, handler: _Handler, token: str, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | bytes] | None:
        """The answer to one request, or None when the handler must not answer (a hang)."""
        now = time.monotonic()
        text = params.get("text") if method == "sendMessage" else params.get("caption")
        if token != self.token:
            self._record(method, now, "401", text)
            return 401, _error(401, "Unauthorized")
        fault = self._take_fault(method, now)
        if fault is not None and fault.kind == "hang":
            message = self._message(params) if fault.deliver else None
            self._record(method, now, "hang", text, message)
            handler.server.stopping.wait(fault.hang_s)
            handler.close_connection = True
            return None
        if fault is not None:
            self._record(method, now, str(fault.status), text)
            return fault.status, _fault_body(fault)
        if method == "getUpdates":
            return self._get_updates(handler, params, now)
        if method == "getMe":
            self._record(method, now, "ok", None)
            return 200, {"ok": True, "result": _bot_user()}
        if method not in ("sendMessage", "sendPhoto"):
            self._record(method, now, "404", None)
            return 404, _error(404, "Not Found: method not found")
        problem = _check_message(params) if method == "sendMessage" else _check_photo(params)
        if problem is not None:
            self._record(method, now, "400", text)
            return 400, _error(400, problem)
        if self.latency_s > 0:
            handler.server.stopping.wait(self.latency_s)
        message = self._message(params)
        self._record(method, now, "ok", text, message)
        return 200, {"ok": True, "result": _message_json(message)}

    def _get_updates(
        self, handler: _Handler, params: dict[str, Any], now: float
    ) -> tuple[int, dict[str, Any]]:
        """Long poll: what is queued from ``offset`` on, waiting up to ``timeout`` for some."""
        offset = int(params.get("offset") or 0)
        deadline = now + min(float(params.get("timeout") or 0), 60.0)
        with self._lock:
            if offset:
                self.confirmed = max(self.confirmed, offset - 1)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while (not self._updates and not handler.server.stopping.is_set()
                   and time.monotonic() < deadline):
                self._lock.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            batch = list(self._updates[: int(params.get("limit") or 100)])
        self._record("getUpdates", now, "ok", None)
        return 200, {"ok": True, "result": batch}

    def _message(self, params: dict[str, Any]) -> Delivered:
        chat_id = _chat_id(params.get("chat_id"))
        return Delivered(
            chat_id=chat_id if chat_id is not None else 0,
            text=str(params.get("text", params.get("caption", ""))),
            at=time.monotonic(),
            message_id=next(self._ids),
            photo=photo if isinstance(photo := params.get("photo"), bytes) else None,
        )


def _check_message(params: dict[str, Any]) -> str | None:
    if _chat_id(params.get("chat_id")) is None:
        return "Bad Request: chat_id is empty"
    text = params.get("text")
    if not text:
        return "Bad Request: message text is empty"
    if len(str(text)) > MAX_TEXT:
        return "Bad Request: message is too long"
    return None


def _check_photo(params: dict[str, Any]) -> str | None:
    if _chat_id(params.get("chat_id")) is None:
        return "Bad Request: chat_id is empty"
    if not isinstance(params.get("photo"), bytes) or not params["photo"]:
        return "Bad Request: there is no photo in the request"
    if len(str(params.get("caption", ""))) > MAX_CAPTION:
        return "Bad Request: message caption is too long"
    return None


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


def _fault_body(fault: _Fault) -> dict[str, Any] | bytes:
    if fault.status == HTTPStatus.BAD_GATEWAY and fault.description is None:
        return _BAD_GATEWAY_HTML
    description = fault.description or _DESCRIPTIONS.get(
        fault.status, HTTPStatus(fault.status).phrase
    )
    body = _error(fault.status, description)
    if fault.retry_after is not None:
        body["parameters"] = {"retry_after": fault.retry_after}
    return body


_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after 1",
}


def _bot_user() -> dict[str, Any]:
    return {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Quantfund Test",
        "username": BOT_USERNAME,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def _message_json(message: Delivered) -> dict[str, Any]:
    chat_id = message.chat_id if isinstance(message.chat_id, int) else -1001234567890
    chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "channel"}
    if chat_id > 0:
        chat["first_name"] = "Operator"
    else:
        chat["title"] = str(message.chat_id)
    return {
        "message_id": message.message_id,
        "from": _bot_user(),
        "chat": chat,
        "date": int(time.time()),
        **({"text": message.text} if message.photo is None else {
            "caption": message.text, "photo": [_photo_size(message)]}),
    }


def _photo_size(message: Delivered) -> dict[str, Any]:
    """A PhotoSize for an uploaded PNG (its IHDR gives the size; 0 x 0 when not a PNG)."""
    data = message.photo or b""
    png = data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24
    width, height = (int.from_bytes(data[16:20]), int.from_bytes(data[20:24])) if png else (0, 0)
    return {"file_id": f"photo-{message.message_id}", "file_unique_id": f"u{message.message_id}",
            "width": width, "height": height, "file_size": len(data)}
