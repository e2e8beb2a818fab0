"""mypy --strict over this file and the generated sse31_client (tests/test_streaming_declarations.py)."""

from __future__ import annotations

from typing_extensions import assert_type

from sse31_client import AsyncSse, AsyncStream, Sse, Stream
from sse31_client.types import ChatChunk, ChatResponse, ExecutionEvent, Token


def sync_types(client: Sse) -> None:
    assert_type(client.chat.create(prompt="p"), ChatResponse)
    assert_type(client.chat.chat_stream(prompt="p"), Stream[ChatChunk])
    assert_type(client.executions.stream("ex_1"), Stream[ExecutionEvent])
    assert_type(client.ticker.retrieve(), Stream[str])
    assert_type(client.tokens.list(), Stream[Token])


async def async_types(client: AsyncSse) -> None:
    assert_type(await client.ticker.retrieve(), AsyncStream[str])
