"""A minimal, fast HTTP/1.1 keep-alive server on 127.0.0.1 for the benchmarks (not a test server).

Runs in its own process so that it never shares the GIL with the client being measured. Every
answer is built once at start-up, so the server is never the bottleneck:

* ``POST .../completions`` with a JSON body: a canned text completion (``Content-Length``,
  keep-alive);
* the same with ``"stream": true`` in the body: ``text/event-stream`` of N completion chunks
  (``chunked`` transfer encoding, one HTTP chunk per event, as a server flushing token by token
  sends them), then ``data: [DONE]``.

Usage: ``python _server.py [N_EVENTS]``; prints ``PORT <n>`` once listening. It stops when its
standard input closes (the benchmark exits) or after 30 minutes at most.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

MAX_LIFETIME = 30 * 60
WORDS = ["This", " is", " a", " test", " of", " streaming", " completions", ".", "\n", " é", " 🎉"]

COMPLETION = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def stream_event(i: int, last: bool) -> bytes:
    body = {
        "id": "cmpl-8ABCdefGHIjklMNOpqrSTUvwx",
        "object": "text_completion",
        "created": 1690759702,
        "choices": [{"text": WORDS[i % len(WORDS)], "index": 0, "logprobs": None,
                     "finish_reason": "length" if last else None}],
        "model": "gpt-3.5-turbo-instruct",
        "system_fingerprint": "fp_44709d6fcb",
    }
    return b"data: " + json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def build_answers(n_events: int) -> tuple[bytes, bytes]:
    body = json.dumps(COMPLETION).encode()
    plain = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
             b"x-request-id: req_bench\r\n\r\n%s" % (len(body), body))
    parts = [b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
             b"transfer-encoding: chunked\r\ncache-control: no-cache\r\nx-request-id: req_bench\r\n\r\n"]
    parts.extend(http_chunk(stream_event(i, i == n_events - 1)) for i in range(n_events))
    parts.append(http_chunk(b"data: [DONE]\n\n"))
    parts.append(b"0\r\n\r\n")
    return plain, b"".join(parts)


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class Handler(asyncio.Protocol):
    def __init__(self, plain: bytes, streamed: bytes) -> None:
        self.plain = plain
        self.streamed = streamed
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            total = end + 4 + length
            if len(buffer) < total:
                return
            body = bytes(buffer[end + 4 : total])
            del buffer[:total]
            self.respond(head.split("\r\n", 1)[0], body)

    def respond(self, request_line: str, body: bytes) -> None:
        assert self.transport is not None
        method, _, rest = request_line.partition(" ")
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        if method != "POST" or not path.endswith("/completions"):
            self.transport.write(NOT_FOUND)
            return
        try:
            stream = json.loads(body).get("stream") is True
        except ValueError:
            stream = False
        self.transport.write(self.streamed if stream else self.plain)


async def main(n_events: int) -> None:
    plain, streamed = build_answers(n_events)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Handler(plain, streamed), "127.0.0.1", 0, backlog=64)
    port = server.sockets[0].getsockname()[1]
    done = loop.create_future()

    def stdin_closed() -> None:
        if not os.read(sys.stdin.fileno(), 4096) and not done.done():
            done.set_result(None)

    loop.add_reader(sys.stdin.fileno(), stdin_closed)
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.wait_for(done, MAX_LIFETIME)
    except asyncio.TimeoutError:
        pass
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
