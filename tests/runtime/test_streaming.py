"""Streams that never lose an event: the emitted sync client (``openai_client.OpenAI``,
``completions.create(..., stream=True)``) against the real test server on 127.0.0.1, plus the
runtime's JSON-lines and JSON-text-sequence splitters. Async twins: test_streaming_async.py.

"Released" is checked three ways: the response is closed, httpx's pool holds no connection, and
the server sees the socket close.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openai_client import APIConnectionError, APIError, APIResponseValidationError, APITimeoutError, OpenAI, Stream
from openai_client.types import Completion
from templates.runtime._streaming import _split_lines, _split_records
from tests.runtime.client_support import chunk
from tests.support.server import Reply, ScriptedServer, sse

PAUSE = 0.3  # the server pauses mid-stream, so a client that stops reading closes a live stream


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[OpenAI]:
    with OpenAI(api_key="sk-stream-test-123", base_url=server.base_url) as opened:  # default retries (2)
        yield opened


def pool_connections(client: OpenAI) -> int:
    transport = client._client._transport
    assert isinstance(transport, httpx.HTTPTransport)
    return len(transport._pool.connections)


def assert_released(client: OpenAI, server: ScriptedServer, response: httpx.Response) -> None:
    assert response.is_closed
    assert pool_connections(client) == 0
    assert server.wait_for_connections_closed() == 0


def long_stream(n: int = 3) -> list[bytes | float]:
    """n chunks, a pause, then more: the stream is still open when the client stops early."""
    head = sse(*(chunk(f"t{i}") for i in range(n)), done=False)
    return head + [PAUSE] + sse(*(chunk(f"late{i}") for i in range(50)))


def create(client: OpenAI) -> Stream[Completion]:
    return client.completions.create(model="m", prompt="p", stream=True)


# -- the normal stream ------------------------------------------------------------------------------


def test_stream_yields_typed_chunks_and_stops_at_done(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("Hel"), chunk("lo", "stop")) + sse(chunk("after done"), done=False),
                       headers={"x-request-id": "req_stream"}))
    stream = create(client)
    assert isinstance(stream, Stream) and stream.request_id == "req_stream"
    assert stream.response.headers["content-type"] == "text/event-stream"
    chunks = list(stream)
    assert [c.choices[0].text for c in chunks] == ["Hel", "lo"]
    assert all(isinstance(c, Completion) for c in chunks)
    assert stream.response.is_closed
    assert list(stream) == []  # exhausted for good
    assert server.requests[0].json()["stream"] is True


def test_finish_reason_null_and_unknown_fields_are_kept(client: OpenAI, server: ScriptedServer) -> None:
    extra = {**chunk("a"), "obfuscation": "x9", "new_thing": {"n": 1}}
    extra["choices"][0]["brand_new"] = [1, 2]
    server.reply(Reply(chunks=sse(extra, chunk("b", "length"))))
    first, last = create(client)
    assert first.choices[0].finish_reason is None and last.choices[0].finish_reason == "length"
    assert first.model_extra == {"obfuscation": "x9", "new_thing": {"n": 1}}
    assert first.choices[0].model_extra == {"brand_new": [1, 2]}


def test_events_cut_anywhere_and_crlf_decode_the_same(client: OpenAI, server: ScriptedServer) -> None:
    payload = b"".join(c for c in sse(chunk("é🎉"), chunk("x")) if isinstance(c, bytes)).replace(b"\n", b"\r\n")
    server.reply(Reply(chunks=[payload[i : i + 3] for i in range(0, len(payload), 3)]))
    assert [c.choices[0].text for c in create(client)] == ["é🎉", "x"]


def test_comments_and_other_fields_are_ignored(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=[b": ping\n\n", b"id: 7\nretry: 100\nevent: completion\n",
                               b"data: " + json.dumps(chunk("a")).encode() + b"\n\n", b"data: [DONE]\n\n"]))
    assert [c.choices[0].text for c in create(client)] == ["a"]


# -- closing: break, exceptions, close(), with, garbage collection ---------------------------------


def test_break_out_of_a_for_loop_over_the_call_releases_the_connection(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))
    seen: list[Completion] = []
    for part in client.completions.create(model="m", prompt="p", stream=True):
        seen.append(part)
        break
    # Nothing refers to the stream any more: it was closed on the spot.
    assert pool_connections(client) == 0
    assert server.wait_for_connections_closed() == 0
    assert [c.choices[0].text for c in seen] == ["t0"]


def test_break_inside_with_releases_the_connection(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))
    with create(client) as stream:
        for part in stream:
            assert part.choices[0].text == "t0"
            break
    assert_released(client, server, stream.response)


def test_break_then_keep_reading_then_close(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))
    stream = create(client)
    for _ in stream:
        break
    assert not stream.response.is_closed  # still ours: iteration may go on
    assert next(stream).choices[0].text == "t1"
    assert [c.choices[0].text for c in stream][:2] == ["t2", "late0"]
    stream.close()
    stream.close()  # idempotent
    assert_released(client, server, stream.response)


def test_close_before_reading_releases_the_connection(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))
    stream = create(client)
    stream.close()
    assert list(stream) == []
    assert_released(client, server, stream.response)


def test_exception_in_the_callers_loop_releases_the_connection(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))
    with pytest.raises(ZeroDivisionError):
        for part in client.completions.create(model="m", prompt="p", stream=True):
            1 / 0  # noqa: B018
    assert pool_connections(client) == 0
    assert server.wait_for_connections_closed() == 0


def test_exception_inside_with_releases_the_connection(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=long_stream()))
    with pytest.raises(KeyError):
        with create(client) as stream:
            next(stream)
            raise KeyError("boom")
    assert_released(client, server, stream.response)


@pytest.mark.parametrize("read_first", [True, False])
def test_garbage_collection_releases_the_connection(client: OpenAI, server: ScriptedServer, read_first: bool) -> None:
    server.reply(Reply(chunks=long_stream()))
    stream = create(client)
    if read_first:
        next(stream)
    response = stream.response
    del stream  # reference counting alone: no gc.collect()
    assert response.is_closed
    assert pool_connections(client) == 0
    assert server.wait_for_connections_closed() == 0


def test_a_dropped_stream_leaves_no_cycle_for_the_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        response = httpx.Response(200, content=iter([b"data: {}\n\n"]), request=httpx.Request("GET", "http://x"))
        stream = Stream(dict, response, OpenAI(api_key="k", base_url="http://127.0.0.1:1"), "sse", "[DONE]")
        assert next(stream) == {}
        del stream
        assert response.is_closed
        assert gc.collect() == 0 or not any(isinstance(o, Stream) for o in gc.garbage)
    finally:
        gc.enable()


def test_completed_streams_leave_the_pool_with_no_active_connection(client: OpenAI, server: ScriptedServer) -> None:
    for _ in range(20):
        server.reply(Reply(chunks=sse(chunk("a"), chunk("b"))))
        assert len(list(create(client))) == 2
    transport = client._client._transport
    assert isinstance(transport, httpx.HTTPTransport)
    assert all(connection.is_idle() or connection.is_closed() for connection in transport._pool.connections)
    assert len(server.requests) == 20


# -- errors: never silent, never retried -------------------------------------------------------------


def test_error_object_in_the_data_raises_api_error_with_the_servers_message(client: OpenAI, server: ScriptedServer) -> None:
    error = {"error": {"message": "The server had an error while processing your request.", "type": "server_error",
                       "param": None, "code": "overloaded"}}
    server.reply(Reply(chunks=sse(chunk("a"), error, chunk("never"))))
    stream = create(client)
    assert next(stream).choices[0].text == "a"
    with pytest.raises(APIError) as caught:
        next(stream)
    assert caught.value.message == "The server had an error while processing your request."
    assert caught.value.code == "overloaded" and caught.value.type == "server_error"
    assert not isinstance(caught.value, APIConnectionError)
    assert stream.response.is_closed
    assert "sk-stream-test-123" not in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"message": "Overloaded", "type": "overloaded_error"}', "Overloaded"),
        ('{"error": {"message": "Rate limit reached", "type": "rate_limit"}}', "Rate limit reached"),
        ("upstream went away", "upstream went away"),
        ("", "An error occurred during streaming"),
    ],
)
def test_error_event_raises_api_error(client: OpenAI, server: ScriptedServer, data: str, message: str) -> None:
    server.reply(Reply(chunks=sse(chunk("a"), done=False) + [f"event: error\ndata: {data}\n\n".encode()]))
    stream = create(client)
    next(stream)
    with pytest.raises(APIError) as caught:
        next(stream)
    assert caught.value.message == message
    assert stream.response.is_closed


def test_error_null_is_not_an_error(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse({**chunk("a"), "error": None})))
    (only,) = create(client)
    assert only.model_extra == {"error": None}


def test_connection_dropped_after_n_events_raises_and_is_not_retried(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(*(chunk(str(i)) for i in range(5))), drop_after=3))
    stream = create(client)
    got: list[str] = []
    with pytest.raises(APIConnectionError) as caught:
        for part in stream:
            got.append(part.choices[0].text)
    assert got == ["0", "1", "2"]
    assert not isinstance(caught.value, APITimeoutError)
    assert "Connection lost while streaming" in caught.value.message
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert stream.response.is_closed and pool_connections(client) == 0
    assert len(server.requests) == 1  # max_retries=2, yet one request: streams are never retried


def test_stall_past_the_read_timeout_raises_timeout_and_is_not_retried(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("a"), done=False) + [1.5] + sse(chunk("b"))))
    stream = client.completions.create(model="m", prompt="p", stream=True, timeout=httpx.Timeout(5.0, read=0.3))
    assert next(stream).choices[0].text == "a"
    with pytest.raises(APITimeoutError):
        next(stream)
    assert stream.response.is_closed
    assert len(server.requests) == 1


def test_a_chunk_that_breaks_the_schema_is_kept_unless_strict(server: ScriptedServer) -> None:
    odd = {**chunk("a"), "created": "yesterday"}
    server.reply(Reply(chunks=sse(odd)), Reply(chunks=sse(odd)))
    lenient = OpenAI(api_key="k", base_url=server.base_url, max_retries=0)
    (part,) = create(lenient)
    assert part.created == "yesterday" and part.choices[0].text == "a"  # type: ignore[comparison-overlap]
    strict = OpenAI(api_key="k", base_url=server.base_url, max_retries=0, strict_response_validation=True)
    stream = create(strict)
    with pytest.raises(APIResponseValidationError):
        next(stream)
    assert stream.response.is_closed


def test_data_that_is_not_json_raises(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("a"), "not json at all")))
    stream = create(client)
    next(stream)
    with pytest.raises(APIResponseValidationError, match="not valid JSON"):
        next(stream)


def test_a_json_body_instead_of_a_stream_is_never_a_silently_empty_stream(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(
        Reply(body={"error": {"message": "Streaming is not available for this model", "type": "invalid_request_error"}}),
        Reply(body=chunk("whole", "stop")),
    )
    with pytest.raises(APIError, match="Streaming is not available for this model"):
        list(create(client))
    stream = create(client)
    assert [c.choices[0].text for c in stream] == ["whole"]
    assert stream.response.is_closed


def test_an_unknown_stream_format_is_refused_and_the_response_closed() -> None:
    response = httpx.Response(200, content=b"", request=httpx.Request("GET", "http://x"))
    with pytest.raises(ValueError, match="unknown stream format 'xml'"):
        Stream(dict, response, OpenAI(api_key="k", base_url="http://127.0.0.1:1"), "xml")
    assert response.is_closed


# -- the JSON-lines and JSON-text-sequence splitters --------------------------------------------------


def split_all(splitter: Any, chunks: list[bytes]) -> tuple[list[bytes], bytes]:
    pending: list[bytes] = []
    out: list[bytes] = []
    for piece in chunks:
        out.extend(splitter(piece, pending))
    return out, b"".join(pending)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_json_lines_split_anywhere(size: int) -> None:
    payload = b'{"a": 1}\r\n\n{"b": "x\xc3\xa9"}\n  {"c": [1,\n2]}\n{"d": 4}'
    lines, tail = split_all(_split_lines, [payload[i : i + size] for i in range(0, len(payload), size)])
    assert [line for line in lines if line] == [b'{"a": 1}', b'{"b": "x\xc3\xa9"}', b'{"c": [1,', b"2]}"]
    assert tail == b'{"d": 4}'


@pytest.mark.parametrize("size", [1, 2, 5, 1000])
def test_json_text_sequences_split_anywhere(size: int) -> None:
    payload = b'\x1e{"a": 1}\n\x1e{\n "b": [1,\n 2]\n}\n\x1e"text"\n\x1e{"last": true}\n'
    records, tail = split_all(_split_records, [payload[i : i + size] for i in range(0, len(payload), size)])
    assert [json.loads(r) for r in records] == [{"a": 1}, {"b": [1, 2]}, "text", {"last": True}]
    assert tail.strip() == b""
