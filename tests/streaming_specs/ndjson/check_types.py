"""mypy --strict over this file and the generated ndjson_client (tests/test_streaming_declarations.py).

``stream`` defaults to true for /api/generate: leaving it out gives the stream."""

from __future__ import annotations

from typing_extensions import assert_type

from ndjson_client import AsyncLlama, AsyncStream, Llama, Stream
from ndjson_client.types import GenerateResponse, GenerateStreamEvent, StatusEvent, StatusResponse


def default_on(client: Llama, flag: bool) -> None:
    assert_type(client.generate.create(model="m"), Stream[GenerateStreamEvent])
    assert_type(client.generate.create(model="m", stream=True), Stream[GenerateStreamEvent])
    assert_type(client.generate.create(model="m", stream=False), GenerateResponse)
    assert_type(client.generate.create(model="m", stream=flag), GenerateResponse | Stream[GenerateStreamEvent])
    for event in client.generate.create(model="m", prompt="p"):
        assert_type(event, GenerateStreamEvent)


def default_off(client: Llama) -> None:
    assert_type(client.pull.create(model="m"), StatusResponse)
    assert_type(client.pull.create(model="m", stream=True), Stream[StatusEvent])


def always(client: Llama) -> None:
    assert_type(client.events.list(), Stream[StatusEvent])


async def asynchronous(client: AsyncLlama) -> None:
    assert_type(await client.generate.create(model="m"), AsyncStream[GenerateStreamEvent])
    assert_type(await client.generate.create(model="m", stream=False), GenerateResponse)
    async for event in await client.events.list():
        assert_type(event, StatusEvent)


def rejected(client: Llama) -> None:
    client.generate.create(model="m", stream=None)  # type: ignore[call-overload]
