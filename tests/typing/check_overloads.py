"""Checked by mypy --strict in tests/test_typecheck.py (never run): the overloads give precise types."""

from __future__ import annotations

from typing_extensions import assert_type

from openai_client import AsyncOpenAI, AsyncStream, OpenAI, Stream
from openai_client.types import Completion


def sync_types(client: OpenAI, flag: bool) -> None:
    assert_type(client.completions.create(model="m", prompt="p"), Completion)
    assert_type(client.completions.create(model="m", prompt="p", stream=False), Completion)
    assert_type(client.completions.create(model="m", prompt="p", stream=None), Completion)
    assert_type(client.completions.create(model="m", prompt="p", stream=True), Stream[Completion])
    assert_type(client.completions.create(model="m", prompt="p", stream=flag), Completion | Stream[Completion])
    for chunk in client.completions.create(model="m", prompt=["a", "b"], stream=True):
        assert_type(chunk, Completion)
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt=[[1, 2], [3]], stop="\n", max_tokens=None)


async def async_types(client: AsyncOpenAI, flag: bool) -> None:
    assert_type(await client.completions.create(model="m", prompt="p"), Completion)
    assert_type(await client.completions.create(model="m", prompt="p", stream=True), AsyncStream[Completion])
    assert_type(await client.completions.create(model="m", prompt="p", stream=flag), Completion | AsyncStream[Completion])
    async for chunk in await client.completions.create(model="m", prompt=[1, 2], stream=True):
        assert_type(chunk, Completion)


def rejected(client: OpenAI) -> None:
    client.completions.create(model="m")  # type: ignore[call-overload]
    client.completions.create(model="m", prompt="p", max_tokens="7")  # type: ignore[call-overload]
    client.completions.create(model="m", prompt="p", temperatur=0)  # type: ignore[call-overload]
