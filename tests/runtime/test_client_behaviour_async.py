"""Black-box behaviour of the emitted async client (``openai_client.AsyncOpenAI``) against a
real HTTP server on 127.0.0.1: the same promises as the sync suite, through the async code path
(its own send loop, ``_async_sleep``, ``AsyncAPIResponse``, ``AsyncStream``, ``aclose``).

Each test runs its coroutine with ``asyncio.run``; retries record their delay through
``client._async_sleep`` instead of waiting, except in one real-time test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pydantic
import pytest

from openai_client import (
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncAPIResponse,
    AsyncOpenAI,
    AsyncStream,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    Omit,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    __version__,
)
from openai_client.types import Completion
from tests.runtime.client_support import (
    API_KEY,
    COMPLETION,
    ERROR_STATUSES,
    AsyncRecordingTransport,
    chunk,
    error_body,
    free_port,
    timeout_of,
)
from tests.support.server import Reply, ScriptedServer, sse

ERROR_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: InternalServerError,
    418: APIStatusError,
}
assert set(ERROR_CLASSES) == set(ERROR_STATUSES)

INVALID = {**COMPLETION, "created": "yesterday"}


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


class Harness:
    """Makes clients on the scripted server whose retries record their delay instead of sleeping."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.sleeps: list[float] = []

    def client(self, **options: Any) -> AsyncOpenAI:
        options.setdefault("api_key", API_KEY)
        options.setdefault("base_url", self.server.base_url)
        client = AsyncOpenAI(**options)

        async def record(seconds: float) -> None:
            self.sleeps.append(seconds)

        client._async_sleep = record
        client._random = lambda: 0.0
        return client


@pytest.fixture
def h(server: ScriptedServer) -> Harness:
    return Harness(server)


async def create(client: AsyncOpenAI, **options: Any) -> Completion:
    return await client.completions.create(model="m", prompt="p", **options)


def retry_counts(server: ScriptedServer) -> list[str | None]:
    return [r.headers.get("x-retry-count") for r in server.requests]


# -- retries --------------------------------------------------------------------------------


def test_5xx_then_200_is_retried_with_counts_on_the_wire(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(500, body=error_body(500)), Reply(body=COMPLETION, headers={"x-request-id": "req_ok"}))

    async def test() -> None:
        async with h.client() as client:
            completion = await create(client)
        assert completion.id == COMPLETION["id"] and completion.request_id == "req_ok"

    run(test)
    assert retry_counts(server) == ["0", "1"]
    assert h.sleeps == [0.5]


def test_retries_stop_after_max_retries(h: Harness, server: ScriptedServer) -> None:
    server.reply(*(Reply(503) for _ in range(4)), Reply(body=COMPLETION))

    async def test() -> None:
        async with h.client(max_retries=3) as client:
            with pytest.raises(InternalServerError):
                await create(client)

    run(test)
    assert retry_counts(server) == ["0", "1", "2", "3"]
    assert h.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "1"}, 1.0), ({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "600"}, 0.5), ({"Retry-After": "-1"}, 0.5)],
)
def test_429_waits_what_the_server_asks_within_reason(h: Harness, server: ScriptedServer, headers: dict[str, str], expected: float) -> None:
    server.reply(Reply(429, headers=headers, body=error_body(429)), Reply(body=COMPLETION))

    async def test() -> None:
        async with h.client() as client:
            await create(client)

    run(test)
    assert h.sleeps == [expected] and len(server.requests) == 2


def test_429_with_retry_after_really_waits_about_that_long(server: ScriptedServer) -> None:
    server.reply(Reply(429, headers={"Retry-After": "1"}), Reply(body=COMPLETION))

    async def test() -> float:
        async with AsyncOpenAI(api_key=API_KEY, base_url=server.base_url) as client:  # the real asyncio.sleep
            started = time.monotonic()
            await create(client)
            return time.monotonic() - started

    elapsed = asyncio.run(test())
    assert len(server.requests) == 2
    assert 0.95 <= elapsed < 3.0


def test_x_should_retry_is_obeyed_both_ways(h: Harness, server: ScriptedServer) -> None:
    server.reply(
        Reply(500, headers={"x-should-retry": "false"}),
        Reply(400, headers={"x-should-retry": "true"}),
        Reply(body=COMPLETION),
    )

    async def test() -> None:
        async with h.client(max_retries=2) as client:
            with pytest.raises(InternalServerError):
                await create(client)
            assert (await create(client)).id == COMPLETION["id"]

    run(test)
    assert retry_counts(server) == ["0", "0", "1"]
    assert h.sleeps == [0.5]


# -- timeouts and transport failures ------------------------------------------------------


def test_a_stalled_server_raises_api_timeout_error_then_is_retried(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION, delay=1.0), Reply(body=COMPLETION, delay=1.0), Reply(body=COMPLETION))

    async def test() -> None:
        async with h.client(max_retries=0, timeout=0.2) as client:
            with pytest.raises(APITimeoutError) as caught:
                await create(client)
            assert isinstance(caught.value.__cause__, httpx.TimeoutException)
            assert (await create(client.with_options(max_retries=1))).id == COMPLETION["id"]

    started = time.monotonic()
    run(test)
    assert time.monotonic() - started < 1.9  # waiting for either stalled reply would take 2 s
    assert retry_counts(server) == ["0", "0", "1"]


def test_connection_dropped_mid_response(h: Harness, server: ScriptedServer) -> None:
    server.reply(
        Reply(headers={"content-type": "application/json"}, chunks=[b'{"id": ', b"1}"], drop_after=1),
        Reply(headers={"content-type": "application/json"}, chunks=[b'{"id": ', b"1}"], drop_after=1),
        Reply(body=COMPLETION),
    )

    async def test() -> None:
        async with h.client(max_retries=0) as client:
            with pytest.raises(APIConnectionError) as caught:
                await create(client)
            assert not isinstance(caught.value, APITimeoutError)
            assert isinstance(caught.value.__cause__, httpx.TransportError)
            assert (await create(client.with_options(max_retries=1))).id == COMPLETION["id"]

    run(test)
    assert len(server.requests) == 3


def test_connection_refused_is_retried_then_raised(h: Harness) -> None:
    async def test() -> None:
        async with h.client(base_url=f"http://127.0.0.1:{free_port()}", max_retries=1) as client:
            with pytest.raises(APIConnectionError) as caught:
                await create(client)
            assert isinstance(caught.value.__cause__, httpx.ConnectError)

    run(test)
    assert h.sleeps == [0.5]


def test_a_stream_is_never_retried_once_iteration_began(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("A"), chunk("B")), drop_after=1), Reply(chunks=sse(chunk("X"))))
    texts: list[str] = []

    async def test() -> None:
        async with h.client(max_retries=2) as client:
            stream = await client.completions.create(model="m", prompt="p", stream=True)
            with pytest.raises(APIConnectionError):
                async for part in stream:
                    texts.append(part.choices[0].text)

    run(test)
    assert texts == ["A"] and len(server.requests) == 1 and h.sleeps == []


def test_timeouts_on_the_wire(server: ScriptedServer) -> None:
    transport = AsyncRecordingTransport()
    server.reply(*(Reply(body=COMPLETION) for _ in range(3)))

    async def test() -> None:
        async with httpx.AsyncClient(transport=transport) as http_client:
            client = AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, http_client=http_client)
            assert client.timeout == DEFAULT_TIMEOUT
            await create(client)
            await create(client.with_options(timeout=7.0))
            await create(client, timeout=httpx.Timeout(10.0, connect=2.0))

    run(test)
    assert [timeout_of(r) for r in transport.requests] == [
        {"connect": 5.0, "read": 600.0, "write": 600.0, "pool": 600.0},
        {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0},
        {"connect": 2.0, "read": 10.0, "write": 10.0, "pool": 10.0},
    ]


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_each_error_status_maps_to_its_class_with_its_fields(h: Harness, server: ScriptedServer, status: int) -> None:
    server.reply(Reply(status, headers={"x-request-id": f"req_{status}"}, body=error_body(status)))

    async def test() -> None:
        async with h.client(max_retries=0) as client:
            with pytest.raises(APIStatusError) as caught:
                await create(client)
        error = caught.value
        assert type(error) is ERROR_CLASSES[status]
        assert (error.status_code, error.response.status_code, error.request_id) == (status, status, f"req_{status}")
        assert error.body == error_body(status)["error"]
        assert error.message == str(error) == f"Error code: {status} - boom {status}"

    run(test)


def test_a_non_json_error_body_and_a_key_echoed_back(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(503, headers={"content-type": "text/plain"}, body=f"overloaded, key {API_KEY}"))

    async def test() -> None:
        async with h.client(max_retries=0) as client:
            with pytest.raises(InternalServerError) as caught:
                await create(client)
        assert caught.value.body == f"overloaded, key {API_KEY}"
        assert str(caught.value) == "Error code: 503 - overloaded, key <redacted>"

    run(test)


# -- per-request options and copies -------------------------------------------------------


def test_extra_options_omit_and_case_insensitive_merge_on_the_wire(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION), Reply(body=COMPLETION))

    async def test() -> None:
        async with h.client(default_headers={"X-Team": "a"}) as client:
            await create(client, suffix=None, max_tokens=NOT_GIVEN, extra_headers={"x-team": "b", "User-Agent": Omit()},
                         extra_query={"v": 2}, extra_body={"echo": True})
            await create(client)

    run(test)
    first, second = server.requests
    assert first.path == "/completions?v=2"
    assert first.headers["x-team"] == "b" and "user-agent" not in first.headers
    assert first.json() == {"model": "m", "prompt": "p", "suffix": None, "echo": True}
    assert second.headers["x-team"] == "a" and second.headers["user-agent"].startswith(f"openai_client/{__version__} ")


def test_with_options_shares_the_pool_and_leaves_the_original_alone(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(500), Reply(body=COMPLETION), Reply(500))

    async def test() -> None:
        client = h.client(max_retries=0)
        copy = client.with_options(max_retries=1, timeout=9.0, default_headers={"X-Copy": "1"})
        assert copy._client is client._client
        assert (client.max_retries, client.timeout) == (0, DEFAULT_TIMEOUT)
        await create(copy)
        with pytest.raises(InternalServerError):
            await create(client)
        await copy.close()  # a copy does not own the pool
        assert not client.is_closed()
        await client.close()
        assert copy.is_closed()

    run(test)
    assert [r.headers.get("x-copy") for r in server.requests] == ["1", "1", None]
    assert server.total_connections == 1


def test_max_retries_is_validated() -> None:
    for bad in (-1, True, 2.0):
        with pytest.raises(ValueError, match="max_retries"):
            AsyncOpenAI(api_key=API_KEY, base_url="http://127.0.0.1:1", max_retries=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_retries"):
            AsyncOpenAI(api_key=API_KEY, base_url="http://127.0.0.1:1").with_options(max_retries=bad)  # type: ignore[arg-type]


# -- connections --------------------------------------------------------------------------


def test_no_connection_left_open_after_200_failed_attempts(h: Harness, server: ScriptedServer) -> None:
    async def test() -> None:
        client = h.client(max_retries=1)
        for index in range(100):  # 100 calls x 2 attempts, alternating plain and streamed
            with pytest.raises(InternalServerError):
                await client.completions.create(model="m", prompt="p", stream=bool(index % 2))
        assert len(server.requests) == 200
        assert server.total_connections <= 2
        await client.close()

    run(test)
    assert server.wait_for_connections_closed() == 0


def test_retried_streams_with_unread_bodies_of_unknown_length_are_closed(h: Harness, server: ScriptedServer) -> None:
    failing = Reply(500, headers={"content-type": "application/json"}, chunks=[b'{"error": {"message": "down"}}'])
    server.reply(*(failing for _ in range(60)))

    async def test() -> None:
        client = h.client(max_retries=2)
        for _ in range(20):
            with pytest.raises(InternalServerError):
                await client.completions.create(model="m", prompt="p", stream=True)
        deadline = time.monotonic() + 5.0
        while server.open_connections > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert server.open_connections == 1
        await client.close()

    run(test)
    assert len(server.requests) == 60
    assert server.wait_for_connections_closed() == 0


# -- raw responses ------------------------------------------------------------------------


def test_with_raw_response(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(500), Reply(body=COMPLETION, headers={"x-request-id": "req_raw"}))

    async def test() -> None:
        async with h.client() as client:
            raw = await client.completions.with_raw_response.create(model="m", prompt="p")
            assert isinstance(raw, AsyncAPIResponse)
            assert (raw.status_code, raw.retries_taken, raw.request_id) == (200, 1, "req_raw")
            assert raw.headers["content-type"] == "application/json"
            completion = await raw.parse()
            assert isinstance(completion, Completion) and completion.request_id == "req_raw"

    run(test)


def test_with_streaming_response_does_not_read_the_body_up_front(h: Harness, server: ScriptedServer) -> None:
    body = json.dumps(COMPLETION).encode()
    server.reply(Reply(headers={"content-type": "application/json"}, chunks=[body[:10], body[10:]]),
                 Reply(chunks=sse(chunk("A"), chunk("B", "stop"))))

    async def test() -> None:
        async with h.client() as client:
            async with client.completions.with_streaming_response.create(model="m", prompt="p") as response:
                assert not response.http_response.is_stream_consumed
                with pytest.raises(httpx.ResponseNotRead):
                    response.http_response.content  # noqa: B018
                assert (await response.parse()).id == COMPLETION["id"]
            assert response.is_closed
            async with client.completions.with_streaming_response.create(model="m", prompt="p", stream=True) as response:
                stream = await response.parse()
                assert isinstance(stream, AsyncStream)
                assert [c.choices[0].text async for c in stream] == ["A", "B"]

    run(test)


# -- validation, safety, lifecycle --------------------------------------------------------


def test_strict_response_validation_on_and_off(h: Harness, server: ScriptedServer) -> None:
    server.reply(Reply(body=INVALID), Reply(body=INVALID))

    async def test() -> None:
        async with h.client() as client:
            assert (await create(client)).created == "yesterday"  # type: ignore[comparison-overlap]
            with pytest.raises(APIResponseValidationError) as caught:
                await create(client.with_options(strict_response_validation=True))
            assert caught.value.body == INVALID
            assert isinstance(caught.value.__cause__, pydantic.ValidationError)

    run(test)


def test_debug_logs_and_repr_never_show_the_key(h: Harness, server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="openai_client")
    server.reply(Reply(body=COMPLETION))

    async def test() -> None:
        async with h.client() as client:
            assert API_KEY not in repr(client)
            await create(client)

    run(test)
    assert "'authorization': '<redacted>'" in caplog.text
    assert API_KEY not in caplog.text


def test_an_injected_http_client_is_used_as_given_and_not_closed(server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))

    async def test() -> None:
        http_client = httpx.AsyncClient(headers={"X-From-Injected": "yes"})
        async with AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, http_client=http_client) as client:
            assert client._client is http_client
            await create(client)
        assert not http_client.is_closed
        assert server.open_connections == 1
        await http_client.aclose()

    run(test)
    assert server.requests[0].headers["x-from-injected"] == "yes"
    assert server.wait_for_connections_closed() == 0


def test_context_manager_closes_the_pool(server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))

    async def test() -> None:
        async with AsyncOpenAI(api_key=API_KEY, base_url=server.base_url) as client:
            await create(client)
            assert server.open_connections == 1 and not client.is_closed()
        assert client.is_closed()

    run(test)
    assert server.wait_for_connections_closed() == 0
