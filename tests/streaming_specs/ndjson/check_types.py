"""mypy --strict over this file and the generated ndjson_client (tests/test_streaming_declarations.py).

``stream`` defaults to true for /api/generate: leaving it out gives the stream."""

from __future__ import annotations

from typing_extensions import assert_type

from ndjson_client import AsyncLlama, AsyncStream, Llama, Stream
from ndjson_client.types import GenerateResponse, GenerateStreamEvent, StatusEvent, StatusResponse


def default_on(client: Llama, flag: bool) -> None:
    assert_type(client.generate.generate(model="m"), Stream[GenerateStreamEvent])
    assert_type(client.generate.generate(model="m", stream=True), Stream[GenerateStreamEvent])
    assert_type(client.generate.generate(model="m", stream=False), GenerateResponse)
    assert_type(client.generate.generate(model="m", stream=flag), GenerateResponse | Stream[GenerateStreamEvent])
    for event in client.generate.generate(model="m", prompt="p"):
        assert_type(event, GenerateStreamEvent)


def default_off(client: Llama) -> None:
    assert_type(client.pull.pull(model="m"), StatusResponse)
    assert_type(client.pull.pull(model="m", stream=True), Stream[StatusEvent])


def always(client: Llama) -> None:
    assert_type(client.events.events(), Stream[StatusEvent])


async def asynchronous(client: AsyncLlama) -> None:
    assert_type(await client.generate.generate(model="m"), AsyncStream[GenerateStreamEvent])
    assert_type(await client.generate.generate(model="m", stream=False), GenerateResponse)
    async for event in await client.events.events():
        assert_type(event, StatusEvent)


def rejected(client: Llama) -> None:
    client.generate.generate(model="m", stream=None)  # type: ignore[call-overload]
