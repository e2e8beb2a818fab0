"""mypy --strict over this file and the generated items_client (tests/test_streaming_declarations.py)."""

from __future__ import annotations

from typing_extensions import assert_type

from items_client import AsyncItems, AsyncStream, Items, Stream
from items_client.types import Created, Deleted, LogLine, Reply, ReplyChunk


def sync_types(client: Items) -> None:
    assert_type(client.chat.create(message="hi"), Reply)
    assert_type(client.chat.create(message="hi", stream=True), Stream[ReplyChunk])
    assert_type(client.watch.retrieve(), Stream[Created | Deleted])
    assert_type(client.logs.list(), Stream[LogLine])
    assert_type(client.feed.retrieve(), Stream[LogLine])


async def async_types(client: AsyncItems) -> None:
    assert_type(await client.chat.create(message="hi", stream=True), AsyncStream[ReplyChunk])
    async for line in await client.logs.list():
        assert_type(line, LogLine)
