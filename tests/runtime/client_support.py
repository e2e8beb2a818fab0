"""Shared data and helpers of the client behaviour suites (sync and async)."""

from __future__ import annotations

import socket
from typing import Any

import httpx

API_KEY = "sk-behaviour-5ecret-key-0123456789"

COMPLETION: dict[str, Any] = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}

# Every status the runtime maps to a class of its own, plus two that share InternalServerError
# and one (418) that only gets the base class. Filled in by each suite with the imported classes.
ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429, 500, 503, 418)


def chunk(text: str, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "cmpl-stream",
        "object": "text_completion",
        "created": 1690759702,
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
        "model": "gpt-3.5-turbo-instruct",
    }


def error_body(status: int) -> dict[str, Any]:
    return {"error": {"message": f"boom {status}", "type": "some_error", "param": "prompt", "code": f"code_{status}"}}


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class RecordingTransport(httpx.BaseTransport):
    """httpx's real transport, keeping every request as it was handed to the network layer."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def timeout_of(request: httpx.Request) -> dict[str, float | None]:
    """The timeouts httpx will apply to this request (what the client passed per request)."""
    value: dict[str, float | None] = request.extensions["timeout"]
    return value
