"""A real HTTP/1.1 server on 127.0.0.1 that tests script response by response.

Each test queues ``Reply`` objects (status, headers, a body or a list of chunks with optional
pauses, or a dropped connection); the server answers requests in order with them, records
every request it received, and counts the connections it saw open and closed.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | dict[str, Any] | list[Any] | None = None
    chunks: list[bytes | float] | None = None  # bytes are sent as HTTP chunks; a float pauses
    delay: float = 0.0  # seconds before the status line
    drop_after: int | None = None  # close the socket after this many body chunks (no terminator)

    def encoded_body(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


def sse(*events: Any, done: bool = True, event: str | None = None) -> list[bytes | float]:
    """Chunks of an event stream: each event's data as JSON (or as given, if a str)."""
    chunks: list[bytes | float] = []
    for item in events:
        data = item if isinstance(item, str) else json.dumps(item)
        prefix = f"event: {event}\n" if event else ""
        chunks.append(f"{prefix}data: {data}\n\n".encode())
    if done:
        chunks.append(b"data: [DONE]\n\n")
    return chunks


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.default = Reply(500, body={"error": {"message": "no reply scripted"}})
        self.open_connections = 0
        self.total_connections = 0
        self._lock = threading.Lock()
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="scripted-server", daemon=True)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self.replies.popleft() if self.replies else self.default

    def wait_for_connections_closed(self, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while self.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections


def _make_handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
            # peer's delayed ACK adds ~40 ms to every response on a keep-alive connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with server._lock:
                server.open_connections += 1
                server.total_connections += 1

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                with server._lock:
                    server.open_connections -= 1

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            server.requests.append(
                Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            reply = server.next_reply()
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            headers = {k.lower(): v for k, v in reply.headers.items()}
            if reply.chunks is None:
                payload = reply.encoded_body()
                if "content-type" not in headers and payload:
                    headers["content-type"] = "application/json"
                headers["content-length"] = str(len(payload))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                return
            headers.setdefault("content-type", "text/event-stream")
            headers["transfer-encoding"] = "chunked"
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            sent = 0
            for chunk in reply.chunks:
                if isinstance(chunk, float):
                    time.sleep(chunk)
                    continue
                if reply.drop_after is not None and sent >= reply.drop_after:
                    self._drop()
                    return
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
                sent += 1
            if reply.drop_after is not None:
                self._drop()
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _drop(self) -> None:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
