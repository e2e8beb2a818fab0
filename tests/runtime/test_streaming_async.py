"""The async twins of test_streaming.py: ``AsyncOpenAI.completions.create(..., stream=True)``
against the real test server on 127.0.0.1. Each test runs its own event loop (``asyncio.run``)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import pytest

from openai_client import APIConnectionError, APIError, APITimeoutError, AsyncOpenAI, AsyncStream
from openai_client.types import Completion
from tests.runtime.client_support import chunk
from tests.runtime.test_streaming import long_stream
from tests.support.server import Reply, ScriptedServer, sse

T = TypeVar("T")


def run(server: ScriptedServer, body: Callable[[AsyncOpenAI], Awaitable[T]], **options: object) -> T:
    async def main() -> T:
        async with AsyncOpenAI(api_key="sk-async-stream-123", base_url=server.base_url, **options) as client:  # type: ignore[arg-type]
            return await body(client)

    return asyncio.run(main())


def pool_connections(client: AsyncOpenAI) -> int:
    transport = client._client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    return len(transport._pool.connections)


async def settle() -> None:
    """Let tasks scheduled by a finaliser (the close of a dropped stream) run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def create(client: AsyncOpenAI) -> AsyncStream[Completion]:
    return await client.completions.create(model="m", prompt="p", stream=True)


def test_stream_yields_typed_chunks_and_stops_at_done(server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("Hel"), {**chunk("lo", "stop"), "extra": 1}) + sse(chunk("after"), done=False)))

    async def body(client: AsyncOpenAI) -> tuple[list[Completion], bool]:
        stream = await create(client)
        assert isinstance(stream, AsyncStream)
        chunks = [c async for c in stream]
        return chunks, stream.response.is_closed

    chunks, closed = run(server, body)
    assert [c.choices[0].text for c in chunks] == ["Hel", "lo"]
    assert [c.choices[0].finish_reason for c in chunks] == [None, "stop"]
    assert chunks[1].model_extra == {"extra": 1}
    assert closed


def test_break_out_of_async_for_over_the_call_releases_the_connection(server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))

    async def body(client: AsyncOpenAI) -> int:
        async for part in await client.completions.create(model="m", prompt="p", stream=True):
            assert part.choices[0].text == "t0"
            break
        await settle()
        return pool_connections(client)

    assert run(server, body) == 0
    assert server.wait_for_connections_closed() == 0


def test_break_inside_async_with_releases_the_connection(server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))

    async def body(client: AsyncOpenAI) -> tuple[bool, int]:
        async with await create(client) as stream:
            async for _ in stream:
                break
        return stream.response.is_closed, pool_connections(client)

    assert run(server, body) == (True, 0)
    assert server.wait_for_connections_closed() == 0


def test_aclose_and_close_are_the_same_and_idempotent(server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()), Reply(chunks=long_stream()))

    async def body(client: AsyncOpenAI) -> list[bool]:
        first = await create(client)
        await first.__anext__()
        await first.aclose()
        await first.aclose()
        second = await create(client)
        await second.close()
        return [first.response.is_closed, second.response.is_closed, [c async for c in first] == []]

    assert run(server, body) == [True, True, True]
    assert server.wait_for_connections_closed() == 0


def test_exception_in_the_callers_loop_releases_the_connection(server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))

    async def body(client: AsyncOpenAI) -> int:
        with pytest.raises(ZeroDivisionError):
            async for _ in await client.completions.create(model="m", prompt="p", stream=True):
                1 / 0  # noqa: B018
        await settle()
        return pool_connections(client)

    assert run(server, body) == 0
    assert server.wait_for_connections_closed() == 0


@pytest.mark.parametrize("read_first", [True, False])
def test_garbage_collection_releases_the_connection(server: ScriptedServer, read_first: bool) -> None:
    server.reply(Reply(chunks=long_stream()))

    async def body(client: AsyncOpenAI) -> tuple[bool, int]:
        stream = await create(client)
        if read_first:
            await stream.__anext__()
        response = stream.response
        del stream
        gc.collect()
        await settle()
        return response.is_closed, pool_connections(client)

    assert run(server, body) == (True, 0)
    assert server.wait_for_connections_closed() == 0


def test_error_event_both_ways(server: ScriptedServer) -> None:
    server.reply(
        Reply(chunks=sse(chunk("a"), {"error": {"message": "Something broke", "type": "server_error"}})),
        Reply(chunks=sse(chunk("a"), done=False) + [b'event: error\ndata: {"message": "Overloaded"}\n\n']),
    )

    async def body(client: AsyncOpenAI) -> list[str]:
        messages = []
        for _ in range(2):
            stream = await create(client)
            await stream.__anext__()
            with pytest.raises(APIError) as caught:
                await stream.__anext__()
            assert stream.response.is_closed
            messages.append(caught.value.message)
        return messages

    assert run(server, body) == ["Something broke", "Overloaded"]


def test_connection_dropped_after_n_events_raises_and_is_not_retried(server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(*(chunk(str(i)) for i in range(5))), drop_after=2))

    async def body(client: AsyncOpenAI) -> list[str]:
        got: list[str] = []
        with pytest.raises(APIConnectionError) as caught:
            async for part in await create(client):
                got.append(part.choices[0].text)
        assert not isinstance(caught.value, APITimeoutError)
        return got

    assert run(server, body, max_retries=2) == ["0", "1"]
    assert len(server.requests) == 1


def test_stall_past_the_read_timeout_raises_timeout_and_is_not_retried(server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("a"), done=False) + [1.5] + sse(chunk("b"))))

    async def body(client: AsyncOpenAI) -> str:
        stream = await client.completions.create(model="m", prompt="p", stream=True, timeout=httpx.Timeout(5.0, read=0.3))
        first = await stream.__anext__()
        with pytest.raises(APITimeoutError):
            await stream.__anext__()
        assert stream.response.is_closed
        return first.choices[0].text

    assert run(server, body, max_retries=2) == "a"
    assert len(server.requests) == 1


def test_a_json_body_instead_of_a_stream_is_one_item_or_an_error(server: ScriptedServer) -> None:
    server.reply(Reply(body={"error": {"message": "nope"}}), Reply(body=chunk("whole")))

    async def body(client: AsyncOpenAI) -> list[str]:
        with pytest.raises(APIError, match="nope"):
            [c async for c in await create(client)]
        return [c.choices[0].text async for c in await create(client)]

    assert run(server, body) == ["whole"]
