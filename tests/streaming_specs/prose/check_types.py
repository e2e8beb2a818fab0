"""mypy --strict over this file and the generated prose_client (tests/test_streaming_declarations.py)."""

from __future__ import annotations

from typing_extensions import assert_type

from prose_client import AsyncProse, AsyncStream, Prose, Stream
from prose_client.types import (
    CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse,
    CreateCompletionResponse,
)


def configured_in_pyproject(client: Prose, flag: bool) -> None:
    assert_type(client.completions.create(model="m", prompt="p"), CreateCompletionResponse)
    assert_type(client.completions.create(model="m", prompt="p", stream=None), CreateCompletionResponse)
    assert_type(client.completions.create(model="m", prompt="p", stream=False), CreateCompletionResponse)
    assert_type(client.completions.create(model="m", prompt="p", stream=True), Stream[CreateCompletionResponse])
    assert_type(client.completions.create(model="m", prompt="p", stream=flag),
                CreateCompletionResponse | Stream[CreateCompletionResponse])
    with client.completions.create(model="m", prompt="p", stream=True) as stream:
        for chunk in stream:
            assert_type(chunk, CreateCompletionResponse)


def configured_by_extension(client: Prose) -> None:
    messages = [{"role": "user", "content": "hi"}]
    assert_type(client.chat.completions.create(model="m", messages=messages), CreateChatCompletionResponse)
    assert_type(client.chat.completions.create(model="m", messages=messages, stream=True),
                Stream[CreateChatCompletionStreamResponse])


async def asynchronous(client: AsyncProse) -> None:
    assert_type(await client.completions.create(model="m", prompt="p"), CreateCompletionResponse)
    stream = await client.completions.create(model="m", prompt="p", stream=True)
    assert_type(stream, AsyncStream[CreateCompletionResponse])
    async with stream:
        async for chunk in stream:
            assert_type(chunk, CreateCompletionResponse)
    chat = await client.chat.completions.create(model="m", messages=[], stream=True)
    assert_type(chat, AsyncStream[CreateChatCompletionStreamResponse])
    await chat.aclose()
