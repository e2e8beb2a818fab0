"""Black-box behaviour of the emitted sync client (``openai_client.OpenAI``) against a real
HTTP server on 127.0.0.1: retries, timeouts, typed errors, per-request options, copies,
raw responses, validation, lifecycle, and what never leaks (the API key).

Retries never really wait: ``client._sleep`` records the delays instead (the documented test
seam), and ``client._random`` is fixed so the backoff is exact. One test waits for real.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from openai_client import (
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    APIConnectionError,
    APIResponse,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    Omit,
    OpenAI,
    PermissionDeniedError,
    RateLimitError,
    Stream,
    UnprocessableEntityError,
    __version__,
)
from openai_client.types import Completion
from tests.runtime.client_support import (
    API_KEY,
    COMPLETION,
    ERROR_STATUSES,
    RecordingTransport,
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
RAW_MARKER = "x-sdkforge-raw-response"  # how with_raw_response tells the client what it wants


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(server: ScriptedServer, sleeps: list[float]) -> Iterator[Callable[..., OpenAI]]:
    """A client on the scripted server whose retries record their delay instead of sleeping."""
    made: list[OpenAI] = []

    def make(**options: Any) -> OpenAI:
        options.setdefault("api_key", API_KEY)
        options.setdefault("base_url", server.base_url)
        client = OpenAI(**options)
        client._sleep = sleeps.append
        client._random = lambda: 0.0  # no jitter: the full backoff
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def create(client: OpenAI, **options: Any) -> Completion:
    return client.completions.create(model="m", prompt="p", **options)


def retry_counts(server: ScriptedServer) -> list[str | None]:
    return [r.headers.get("x-retry-count") for r in server.requests]


# -- retries --------------------------------------------------------------------------------


def test_5xx_then_200_is_retried_with_counts_on_the_wire(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(Reply(500, body=error_body(500)), Reply(body=COMPLETION, headers={"x-request-id": "req_ok"}))
    completion = create(make_client())
    assert completion.id == COMPLETION["id"]
    assert completion.request_id == "req_ok"
    assert len(server.requests) == 2
    assert retry_counts(server) == ["0", "1"]
    assert sleeps == [0.5]
    assert server.requests[0].body == server.requests[1].body  # the same request, resent


def test_retries_stop_after_max_retries_and_raise_the_last_error(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(*(Reply(502, body=error_body(502)) for _ in range(3)), Reply(body=COMPLETION))
    with pytest.raises(InternalServerError) as caught:
        create(make_client(max_retries=2))
    assert caught.value.status_code == 502
    assert retry_counts(server) == ["0", "1", "2"]
    assert sleeps == [0.5, 1.0]


def test_max_retries_zero_sends_once(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(Reply(500), Reply(body=COMPLETION))
    with pytest.raises(InternalServerError):
        create(make_client(max_retries=0))
    assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(make_client: Callable[..., OpenAI], server: ScriptedServer, status: int) -> None:
    server.reply(Reply(status, body=error_body(status)), Reply(body=COMPLETION))
    assert create(make_client(max_retries=1)).id == COMPLETION["id"]
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 418, 422])
def test_other_statuses_are_not_retried(make_client: Callable[..., OpenAI], server: ScriptedServer, status: int) -> None:
    server.reply(Reply(status, body=error_body(status)), Reply(body=COMPLETION))
    with pytest.raises(APIStatusError):
        create(make_client(max_retries=2))
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "1"}, 1.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),  # the precise one wins
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "3600"}, 0.5),  # over the 60 s cap: our own backoff
        ({"Retry-After": "-3"}, 0.5),  # negative: backoff
        ({"Retry-After": "soon"}, 0.5),  # unreadable: backoff
        ({"retry-after-ms": "nan"}, 0.5),
    ],
)
def test_429_waits_what_the_server_asks_within_reason(
    make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float], headers: dict[str, str], expected: float
) -> None:
    server.reply(Reply(429, headers=headers, body=error_body(429)), Reply(body=COMPLETION))
    create(make_client())
    assert sleeps == [expected]
    assert len(server.requests) == 2


def test_retry_after_as_http_date(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    from email.utils import formatdate

    server.reply(Reply(503, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)}), Reply(body=COMPLETION))
    create(make_client())
    (slept,) = sleeps
    assert 27.0 < slept <= 30.0


def test_429_with_retry_after_really_waits_about_that_long(server: ScriptedServer) -> None:
    server.reply(Reply(429, headers={"Retry-After": "1"}, body=error_body(429)), Reply(body=COMPLETION))
    with OpenAI(api_key=API_KEY, base_url=server.base_url) as client:  # the real sleep
        started = time.monotonic()
        create(client)
        elapsed = time.monotonic() - started
    assert len(server.requests) == 2
    assert 0.95 <= elapsed < 3.0


def test_x_should_retry_false_is_obeyed(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(Reply(503, headers={"x-should-retry": "false"}, body=error_body(503)), Reply(body=COMPLETION))
    with pytest.raises(InternalServerError):
        create(make_client(max_retries=2))
    assert len(server.requests) == 1 and sleeps == []


def test_x_should_retry_true_retries_even_a_400(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(400, headers={"x-should-retry": "true"}, body=error_body(400)), Reply(body=COMPLETION))
    assert create(make_client(max_retries=1)).id == COMPLETION["id"]
    assert retry_counts(server) == ["0", "1"]


def test_retry_count_header_can_be_removed(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(500), Reply(body=COMPLETION))
    create(make_client(), extra_headers={"X-Retry-Count": Omit()})
    assert retry_counts(server) == [None, None]


def test_backoff_grows_and_jitter_shortens(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(*(Reply(500) for _ in range(6)), Reply(body=COMPLETION))
    client = make_client(max_retries=6)
    client._random = lambda: 0.5  # 12.5% off every delay
    create(client)
    assert sleeps == pytest.approx([d * 0.875 for d in (0.5, 1.0, 2.0, 4.0, 8.0, 8.0)])


# -- timeouts and transport failures ------------------------------------------------------


def test_a_stalled_server_raises_api_timeout_error_from_httpx(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION, delay=1.0))
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        create(make_client(max_retries=0, timeout=0.2))
    assert time.monotonic() - started < 0.9
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert caught.value.request.url.path == "/completions"


def test_a_timeout_is_retried(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(Reply(body=COMPLETION, delay=1.0), Reply(body=COMPLETION))
    assert create(make_client(max_retries=1), timeout=0.2).id == COMPLETION["id"]
    assert retry_counts(server) == ["0", "1"]
    assert sleeps == [0.5]


def test_per_request_timeout_and_httpx_timeout_object(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION, delay=1.0), Reply(body=COMPLETION, delay=1.0))
    client = make_client(max_retries=0)  # default timeout: 600 s
    with pytest.raises(APITimeoutError):
        create(client, timeout=0.2)
    with pytest.raises(APITimeoutError):
        create(client, timeout=httpx.Timeout(30.0, read=0.2))


def test_connection_dropped_mid_response_raises_api_connection_error(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(headers={"content-type": "application/json"}, chunks=[b'{"id": "cmpl-', b'x"}'], drop_after=1))
    with pytest.raises(APIConnectionError) as caught:
        create(make_client(max_retries=0))
    assert not isinstance(caught.value, APITimeoutError)
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert "RemoteProtocolError" in caught.value.message


def test_a_dropped_connection_is_retried(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(Reply(headers={"content-type": "application/json"}, chunks=[b'{"id": ', b"1}"], drop_after=1), Reply(body=COMPLETION))
    assert create(make_client(max_retries=1)).id == COMPLETION["id"]
    assert len(server.requests) == 2 and sleeps == [0.5]


def test_connection_refused_is_retried_then_raised(make_client: Callable[..., OpenAI], sleeps: list[float]) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}", max_retries=2)
    with pytest.raises(APIConnectionError) as caught:
        create(client)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert sleeps == [0.5, 1.0]


def test_a_stream_is_never_retried_once_iteration_began(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    server.reply(Reply(chunks=sse(chunk("A"), chunk("B"), chunk("C")), drop_after=1), Reply(chunks=sse(chunk("X"))))
    stream = make_client(max_retries=2).completions.create(model="m", prompt="p", stream=True)
    texts = []
    with pytest.raises(APIConnectionError):
        for part in stream:
            texts.append(part.choices[0].text)
    assert texts == ["A"]
    assert len(server.requests) == 1 and sleeps == []


def test_default_timeout_is_600s_with_5s_connect(server: ScriptedServer) -> None:
    transport = RecordingTransport()
    server.reply(Reply(body=COMPLETION))
    with httpx.Client(transport=transport) as http_client:
        client = OpenAI(api_key=API_KEY, base_url=server.base_url, http_client=http_client)
        assert client.timeout == DEFAULT_TIMEOUT == httpx.Timeout(600.0, connect=5.0)
        create(client)
    assert timeout_of(transport.requests[0]) == {"connect": 5.0, "read": 600.0, "write": 600.0, "pool": 600.0}


def test_timeouts_on_the_wire_client_copy_and_request(server: ScriptedServer) -> None:
    transport = RecordingTransport()
    server.reply(*(Reply(body=COMPLETION) for _ in range(4)))
    with httpx.Client(transport=transport) as http_client:
        client = OpenAI(api_key=API_KEY, base_url=server.base_url, http_client=http_client, timeout=20.0)
        create(client)
        create(client.with_options(timeout=7.0))
        create(client, timeout=3.0)
        create(client, timeout=httpx.Timeout(10.0, connect=2.0))
        assert client.timeout == 20.0  # the copy left it alone
    assert [timeout_of(r) for r in transport.requests] == [
        {"connect": 20.0, "read": 20.0, "write": 20.0, "pool": 20.0},
        {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0},
        {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0},
        {"connect": 2.0, "read": 10.0, "write": 10.0, "pool": 10.0},
    ]


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_each_error_status_maps_to_its_class_with_its_fields(make_client: Callable[..., OpenAI], server: ScriptedServer, status: int) -> None:
    server.reply(Reply(status, headers={"x-request-id": f"req_{status}"}, body=error_body(status)))
    with pytest.raises(APIStatusError) as caught:
        create(make_client(max_retries=0))
    error = caught.value
    assert type(error) is ERROR_CLASSES[status]
    assert error.status_code == status
    assert error.response.status_code == status
    assert error.request_id == f"req_{status}"
    assert error.body == error_body(status)["error"]
    assert error.message == f"Error code: {status} - boom {status}"
    assert str(error) == error.message
    assert (error.code, error.param, error.type) == (f"code_{status}", "prompt", "some_error")
    assert error.request.method == "POST"


def test_a_non_json_error_body_is_the_text(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(502, headers={"content-type": "text/html"}, body="<html>Bad gateway</html>"))
    with pytest.raises(InternalServerError) as caught:
        create(make_client(max_retries=0))
    assert caught.value.body == "<html>Bad gateway</html>"
    assert caught.value.message == "Error code: 502 - <html>Bad gateway</html>"
    assert caught.value.code is None and caught.value.request_id is None


def test_a_json_error_body_without_error_object_is_the_json(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(422, body={"detail": [{"loc": ["body", "model"], "msg": "field required"}]}))
    with pytest.raises(UnprocessableEntityError) as caught:
        create(make_client(max_retries=0))
    assert caught.value.body == {"detail": [{"loc": ["body", "model"], "msg": "field required"}]}
    assert "field required" in caught.value.message


def test_an_error_string_and_an_empty_body(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(404, body={"error": "no such model"}), Reply(500))
    client = make_client(max_retries=0)
    with pytest.raises(NotFoundError) as caught:
        create(client)
    assert caught.value.message == "Error code: 404 - no such model"
    assert caught.value.body == {"error": "no such model"}
    with pytest.raises(InternalServerError) as caught_empty:
        create(client)
    assert caught_empty.value.body is None and caught_empty.value.message == "Error code: 500"


def test_the_api_key_never_appears_in_an_error_message(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(401, body={"error": {"message": f"Incorrect API key provided: {API_KEY}."}}), Reply(500, body=f"bad key {API_KEY}"))
    client = make_client(max_retries=0)
    with pytest.raises(AuthenticationError) as caught:
        create(client)
    assert API_KEY not in str(caught.value) and API_KEY not in repr(caught.value)
    assert str(caught.value) == "Error code: 401 - Incorrect API key provided: <redacted>."
    with pytest.raises(InternalServerError) as caught_text:
        create(client)
    assert API_KEY not in str(caught_text.value)


# -- per-request options ------------------------------------------------------------------


def test_extra_headers_query_and_body_on_the_wire(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))
    create(
        make_client(),
        max_tokens=5,
        extra_headers={"X-Trace": "t-1"},
        extra_query={"api-version": "2024-10", "dry": True},
        extra_body={"max_tokens": 9, "metadata": {"k": "v"}, "nothing": None},
    )
    (request,) = server.requests
    assert request.headers["x-trace"] == "t-1"
    assert request.path == "/completions?api-version=2024-10&dry=true"
    assert request.json() == {"model": "m", "prompt": "p", "max_tokens": 9, "metadata": {"k": "v"}, "nothing": None}


def test_omitted_arguments_are_not_sent_and_none_is_null(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION), Reply(body=COMPLETION))
    client = make_client()
    client.completions.create(model="m", prompt="p", suffix=None, max_tokens=NOT_GIVEN, stream=None)
    client.completions.create(model="m", prompt=None)
    assert server.requests[0].json() == {"model": "m", "prompt": "p", "suffix": None, "stream": None}
    assert server.requests[1].json() == {"model": "m", "prompt": None}


def test_a_header_can_be_removed_per_request_even_one_httpx_adds(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION), Reply(body=COMPLETION))
    client = make_client(default_headers={"X-Team": "core"})
    create(client, extra_headers={"User-Agent": Omit(), "x-team": Omit(), "Accept-Encoding": Omit()})
    create(client)
    removed, normal = server.requests
    assert "user-agent" not in removed.headers and "x-team" not in removed.headers
    assert "accept-encoding" not in removed.headers
    assert normal.headers["x-team"] == "core" and normal.headers["user-agent"].startswith("openai_client/")


def test_a_default_header_can_be_removed_for_the_client(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION), Reply(body=COMPLETION))
    client = make_client(default_headers={"User-Agent": Omit()})  # type: ignore[dict-item]
    create(client)
    create(client, extra_headers={"User-Agent": "per-request/1"})
    assert "user-agent" not in server.requests[0].headers
    assert server.requests[1].headers["user-agent"] == "per-request/1"


def test_header_names_merge_case_insensitively(server: ScriptedServer) -> None:
    transport = RecordingTransport()
    server.reply(Reply(body=COMPLETION))
    with httpx.Client(transport=transport) as http_client:
        client = OpenAI(api_key=API_KEY, base_url=server.base_url, http_client=http_client,
                        default_headers={"X-Team": "a", "user-agent": "mine/1"})
        create(client, extra_headers={"x-team": "b", "AUTHORIZATION": "Bearer other-key-123"})
    sent = transport.requests[0].headers
    assert sent.get_list("x-team") == ["b"]
    assert sent.get_list("user-agent") == ["mine/1"]
    assert sent.get_list("authorization") == ["Bearer other-key-123"]
    assert server.requests[0].headers["authorization"] == "Bearer other-key-123"


# -- with_options / copy ------------------------------------------------------------------


def test_with_options_shares_the_pool_and_leaves_the_original_alone(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    client = make_client(max_retries=0, default_headers={"X-Base": "1"})
    copy = client.with_options(max_retries=3, timeout=12.0, default_headers={"X-Copy": "yes"})
    assert copy._client is client._client
    assert (copy.max_retries, copy.timeout) == (3, 12.0)
    assert (client.max_retries, client.timeout) == (0, DEFAULT_TIMEOUT)
    server.reply(Reply(500), Reply(500), Reply(body=COMPLETION), Reply(500))
    create(copy)  # retried twice: the copy's max_retries
    with pytest.raises(InternalServerError):
        create(client)  # not retried: the original's
    first, _, third, original = server.requests
    assert first.headers["x-copy"] == "yes" and first.headers["x-base"] == "1"
    assert "x-copy" not in original.headers and original.headers["x-base"] == "1"
    assert sleeps == [0.5, 1.0]  # the copy kept the injected sleep
    assert server.total_connections == 1  # one pool, one keep-alive connection


def test_closing_a_copy_keeps_the_shared_pool_open(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    client = make_client()
    with client.with_options(max_retries=0) as copy:
        pass
    assert copy.is_closed() is False and client.is_closed() is False
    server.reply(Reply(body=COMPLETION))
    create(client)
    client.close()
    assert client.is_closed() and copy.is_closed()


def test_with_options_replaces_or_merges_headers(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    client = make_client(default_headers={"X-A": "1", "X-B": "2"})
    server.reply(Reply(body=COMPLETION), Reply(body=COMPLETION))
    create(client.with_options(default_headers={"x-b": "3"}))
    create(client.with_options(set_default_headers={"X-C": "4"}))
    merged, replaced = server.requests
    assert (merged.headers["x-a"], merged.headers["x-b"]) == ("1", "3")
    assert "x-a" not in replaced.headers and replaced.headers["x-c"] == "4"


@pytest.mark.parametrize("bad", [-1, True, 1.5, "2", None])
def test_max_retries_must_be_a_non_negative_int(bad: object) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        OpenAI(api_key=API_KEY, base_url="http://127.0.0.1:1", max_retries=bad)  # type: ignore[arg-type]
    client = OpenAI(api_key=API_KEY, base_url="http://127.0.0.1:1")
    if bad is not None:  # None means "keep the current value" for with_options
        with pytest.raises(ValueError, match="max_retries"):
            client.with_options(max_retries=bad)  # type: ignore[arg-type]
    assert client.with_options(max_retries=0).max_retries == 0 and client.max_retries == 2


# -- connections --------------------------------------------------------------------------


def test_no_connection_left_open_after_200_failed_attempts(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    client = make_client(max_retries=0)
    for _ in range(200):
        with pytest.raises(InternalServerError):
            create(client)
    assert len(server.requests) == 200
    assert server.total_connections <= 2  # each failed attempt gave its connection back to the pool
    client.close()
    assert server.wait_for_connections_closed() == 0


def test_failed_streamed_attempts_and_retries_release_their_connections(make_client: Callable[..., OpenAI], server: ScriptedServer, sleeps: list[float]) -> None:
    client = make_client(max_retries=3)
    for _ in range(50):  # 50 calls x 4 attempts, all 500, with stream=True: unread bodies
        with pytest.raises(InternalServerError):
            client.completions.create(model="m", prompt="p", stream=True)
    assert len(server.requests) == 200 and len(sleeps) == 150
    assert server.total_connections <= 2
    client.close()
    assert server.wait_for_connections_closed() == 0


def test_retried_streams_with_unread_bodies_of_unknown_length_are_closed(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    failing = Reply(500, headers={"content-type": "application/json"}, chunks=[b'{"error": {"message": "down"}}'])
    server.reply(*(failing for _ in range(60)))
    client = make_client(max_retries=2)
    for _ in range(20):  # 60 attempts whose chunked bodies are never read: each connection must be closed
        with pytest.raises(InternalServerError):
            client.completions.create(model="m", prompt="p", stream=True)
    assert len(server.requests) == 60
    deadline = time.monotonic() + 5.0
    while server.open_connections > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.open_connections == 1  # only the last, kept alive after its final error body was read
    client.close()
    assert server.wait_for_connections_closed() == 0


# -- raw responses ------------------------------------------------------------------------


def test_with_raw_response(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(503), Reply(body=COMPLETION, headers={"x-request-id": "req_raw", "x-ratelimit-remaining": "41"}))
    raw = make_client().completions.with_raw_response.create(model="m", prompt="p")
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 200
    assert raw.headers["x-ratelimit-remaining"] == "41"
    assert raw.retries_taken == 1
    assert raw.request_id == "req_raw"
    completion = raw.parse()
    assert isinstance(completion, Completion) and completion.id == COMPLETION["id"]
    assert completion.request_id == "req_raw"
    assert raw.parse() is completion
    assert RAW_MARKER not in server.requests[1].headers  # the internal marker never goes out


def test_with_raw_response_of_a_stream(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("A"), chunk("B", "stop"))))
    raw = make_client().completions.with_raw_response.create(model="m", prompt="p", stream=True)
    stream = raw.parse()
    assert isinstance(stream, Stream)
    assert [c.choices[0].text for c in stream] == ["A", "B"]


def test_with_streaming_response_does_not_read_the_body_up_front(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    body = json.dumps(COMPLETION).encode()
    server.reply(Reply(headers={"content-type": "application/json", "x-request-id": "req_s"}, chunks=[body[:20], 0.05, body[20:]]))
    with make_client().completions.with_streaming_response.create(model="m", prompt="p") as response:
        assert response.status_code == 200 and response.request_id == "req_s"
        assert not response.http_response.is_stream_consumed
        with pytest.raises(httpx.ResponseNotRead):
            response.http_response.content  # noqa: B018 - nothing was read on entry
        completion = response.parse()
        assert isinstance(completion, Completion) and completion.request_id == "req_s"
    assert response.is_closed


def test_with_streaming_response_lines_and_early_exit(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("A"), chunk("B"))), Reply(body=COMPLETION))
    client = make_client()
    with client.completions.with_streaming_response.create(model="m", prompt="p", stream=True) as response:
        first = next(line for line in response.iter_lines() if line)
    assert json.loads(first.removeprefix("data: "))["choices"][0]["text"] == "A"
    assert response.is_closed
    create(client)  # the pool still works after leaving early
    client.close()
    assert server.wait_for_connections_closed() == 0


def test_with_streaming_response_raises_the_status_error_on_entry(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(404, body=error_body(404)))
    with pytest.raises(NotFoundError) as caught:
        with make_client(max_retries=0).completions.with_streaming_response.create(model="m", prompt="p"):
            pass
    assert caught.value.body == error_body(404)["error"]


# -- response validation ------------------------------------------------------------------

INVALID = {**COMPLETION, "created": "yesterday", "choices": [{"text": 5, "index": 0, "finish_reason": "length", "logprobs": None}]}


def test_an_invalid_2xx_body_is_returned_leniently_by_default(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=INVALID, headers={"x-request-id": "req_lenient"}))
    completion = create(make_client())
    assert isinstance(completion, Completion)
    assert completion.created == "yesterday"  # type: ignore[comparison-overlap]  # as the server sent it
    assert completion.choices[0].text == 5  # type: ignore[comparison-overlap]
    assert completion.choices[0].finish_reason == "length"
    assert completion.id == COMPLETION["id"]
    assert completion.request_id == "req_lenient"


def test_strict_response_validation_raises(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=INVALID, headers={"x-request-id": "req_strict"}), Reply(body=INVALID), Reply(body=COMPLETION))
    client = make_client(strict_response_validation=True)
    with pytest.raises(APIResponseValidationError) as caught:
        create(client)
    assert caught.value.status_code == 200 and caught.value.body == INVALID
    assert caught.value.request_id == "req_strict"
    assert isinstance(caught.value.__cause__, pydantic.ValidationError)
    lenient = client.with_options(strict_response_validation=False)
    assert create(lenient).created == "yesterday"  # type: ignore[comparison-overlap]
    assert create(client).id == COMPLETION["id"]  # a valid body passes strict validation


def test_strict_via_with_options_and_a_non_json_2xx(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=INVALID), Reply(body="not json", headers={"content-type": "text/plain"}))
    with pytest.raises(APIResponseValidationError):
        create(make_client().with_options(strict_response_validation=True))
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        create(make_client())


# -- identity and safety ------------------------------------------------------------------


def test_user_agent_names_the_package_and_version(make_client: Callable[..., OpenAI], server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))
    create(make_client())
    assert server.requests[0].headers["user-agent"].startswith(f"openai_client/{__version__} ")


def test_the_api_key_is_not_in_reprs(make_client: Callable[..., OpenAI]) -> None:
    client = make_client()
    for shown in (repr(client), str(client), repr(client.with_options(max_retries=1)), repr(client.completions)):
        assert API_KEY not in shown
    assert repr(client) == f"OpenAI(base_url='{client.base_url}', max_retries=2)"


def test_debug_logs_redact_the_key(make_client: Callable[..., OpenAI], server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="openai_client")
    server.reply(Reply(500, headers={"x-request-id": "req_1"}), Reply(body=COMPLETION, headers={"x-request-id": "req_2"}))
    create(make_client())
    assert API_KEY not in caplog.text
    requests = [r for r in caplog.records if r.getMessage().startswith("request POST")]
    assert len(requests) == 2
    assert "'authorization': '<redacted>'" in requests[0].getMessage()
    assert any("-> 500 request_id=req_1" in r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.INFO and r.getMessage().startswith("retrying POST") for r in caplog.records)
    assert any("-> 200 request_id=req_2" in r.getMessage() for r in caplog.records)


def test_debug_logs_redact_a_key_in_the_query_and_custom_headers(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    from openai_client._runtime._base_client import SyncAPIClient, credentials

    caplog.set_level(logging.DEBUG, logger="openai_client")
    for kind, name in (("api_key_query", "key"), ("api_key_header", "X-Goog-Api-Key")):
        auth_headers, auth_query = credentials(kind, API_KEY, name)
        client = SyncAPIClient(http_client=None, base_url=server.base_url, auth_headers=auth_headers, auth_query=auth_query,
                               user_agent="t/1", timeout=NOT_GIVEN, max_retries=0, default_headers=None, default_query=None,
                               strict_response_validation=False)
        server.reply(Reply(body={"ok": True}))
        client.request("get", "/thing", cast_to=dict)
        client.close()
    assert server.requests[0].path == f"/thing?key={API_KEY}"  # the key does go to the server
    assert server.requests[1].headers["x-goog-api-key"] == API_KEY
    assert API_KEY not in caplog.text
    assert f"{server.base_url}/thing?key=<redacted> attempt=1" in caplog.text
    assert "'x-goog-api-key': '<redacted>'" in caplog.text


def test_the_log_env_var_turns_debug_logging_on(server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))
    root = Path(__file__).resolve().parents[2]
    script = (
        "from openai_client import OpenAI\n"
        f"OpenAI(api_key={API_KEY!r}, base_url={server.base_url!r}).completions.create(model='m', prompt='p')\n"
    )
    env = {**os.environ, "OPENAI_CLIENT_LOG": "debug", "PYTHONPATH": os.pathsep.join([str(root / "generated"), str(root)])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "DEBUG] request POST" in done.stderr
    assert "'authorization': '<redacted>'" in done.stderr
    assert API_KEY not in done.stderr + done.stdout


# -- lifecycle ----------------------------------------------------------------------------


def test_context_manager_closes_the_pool(server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))
    with OpenAI(api_key=API_KEY, base_url=server.base_url) as client:
        create(client)
        assert server.open_connections == 1  # kept alive while the client lives
    assert client.is_closed()
    assert server.wait_for_connections_closed() == 0


def test_an_injected_http_client_is_used_as_given_and_not_closed(server: ScriptedServer) -> None:
    http_client = httpx.Client(headers={"X-From-Injected": "yes"}, timeout=42.0)
    transport_seen: list[httpx.Request] = []
    http_client.event_hooks["request"].append(transport_seen.append)
    server.reply(Reply(body=COMPLETION))
    client = OpenAI(api_key=API_KEY, base_url=server.base_url, http_client=http_client)
    assert client._client is http_client
    assert client.timeout == httpx.Timeout(42.0)  # its own timeout is kept
    create(client)
    assert server.requests[0].headers["x-from-injected"] == "yes"
    assert len(transport_seen) == 1 and timeout_of(transport_seen[0])["read"] == 42.0
    client.close()
    assert not http_client.is_closed
    assert server.open_connections == 1  # still the caller's to close
    http_client.close()
    assert server.wait_for_connections_closed() == 0


def test_an_http_client_of_the_wrong_kind_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="httpx.Client"):
        OpenAI(api_key=API_KEY, http_client=httpx.AsyncClient())  # type: ignore[arg-type]
