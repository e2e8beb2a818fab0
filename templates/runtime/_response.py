"""Raw access to responses: ``with_raw_response`` and ``with_streaming_response``."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, Optional, ParamSpec, TypeVar, cast

import httpx

from ._streaming import AsyncStream, Stream
from ._types import RAW_RESPONSE_HEADER

__all__ = [
    "APIResponse",
    "AsyncAPIResponse",
    "to_raw_response_wrapper",
    "to_streamed_response_wrapper",
    "async_to_raw_response_wrapper",
    "async_to_streamed_response_wrapper",
]

P = ParamSpec("P")
R = TypeVar("R")


class _ResponseBase(Generic[R]):
    def __init__(self, client: Any, response: httpx.Response, cast_to: Any, retries_taken: int, *,
                 stream: bool, stream_format: str, stream_terminator: Optional[str]) -> None:
        self.http_response = response
        self.retries_taken = retries_taken
        self._client = client
        self._cast_to = cast_to
        self._stream = stream
        self._stream_format = stream_format
        self._stream_terminator = stream_terminator
        self._parsed: Any = None
        self._is_parsed = False

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def request_id(self) -> Optional[str]:
        value: Optional[str] = self.http_response.headers.get("x-request-id")
        return value

    @property
    def url(self) -> httpx.URL:
        return self.http_response.url

    @property
    def http_request(self) -> httpx.Request:
        return self.http_response.request

    @property
    def is_closed(self) -> bool:
        return self.http_response.is_closed

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}] {self.http_response.request.method} {self.url.copy_with(query=None)}>"


class APIResponse(_ResponseBase[R]):
    """The HTTP response of a call; ``parse()`` gives what the method would have returned."""

    def parse(self) -> R:
        if not self._is_parsed:
            if self._stream:
                self._parsed = Stream(self._cast_to, self.http_response, self._client, self._stream_format, self._stream_terminator)
            else:
                self.http_response.read()
                self._parsed = self._client._parse(self._cast_to, self.http_response)
            self._is_parsed = True
        return self._parsed  # type: ignore[no-any-return]

    def read(self) -> bytes:
        return self.http_response.read()

    def text(self) -> str:
        self.read()
        return self.http_response.text

    def json(self) -> Any:
        return json.loads(self.read())

    def iter_bytes(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        return self.http_response.iter_bytes(chunk_size)

    def iter_text(self, chunk_size: Optional[int] = None) -> Iterator[str]:
        return self.http_response.iter_text(chunk_size)

    def iter_lines(self) -> Iterator[str]:
        return self.http_response.iter_lines()

    def close(self) -> None:
        self.http_response.close()


class AsyncAPIResponse(_ResponseBase[R]):
    """The HTTP response of an async call; ``await parse()`` gives what the method would have returned."""

    async def parse(self) -> R:
        if not self._is_parsed:
            if self._stream:
                self._parsed = AsyncStream(self._cast_to, self.http_response, self._client, self._stream_format, self._stream_terminator)
            else:
                await self.http_response.aread()
                self._parsed = self._client._parse(self._cast_to, self.http_response)
            self._is_parsed = True
        return self._parsed  # type: ignore[no-any-return]

    async def read(self) -> bytes:
        return await self.http_response.aread()

    async def text(self) -> str:
        await self.read()
        return self.http_response.text

    async def json(self) -> Any:
        return json.loads(await self.read())

    def iter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        return self.http_response.aiter_bytes(chunk_size)

    def iter_text(self, chunk_size: Optional[int] = None) -> AsyncIterator[str]:
        return self.http_response.aiter_text(chunk_size)

    def iter_lines(self) -> AsyncIterator[str]:
        return self.http_response.aiter_lines()

    async def close(self) -> None:
        await self.http_response.aclose()


class ResponseContextManager(Generic[R]):
    """``with client.x.with_streaming_response.y(...) as response:`` — the body is not read up front."""

    def __init__(self, call: Callable[[], APIResponse[R]]) -> None:
        self._call = call
        self._response: Optional[APIResponse[R]] = None

    def __enter__(self) -> APIResponse[R]:
        self._response = self._call()
        return self._response

    def __exit__(self, *exc_info: object) -> None:
        if self._response is not None:
            self._response.close()


class AsyncResponseContextManager(Generic[R]):
    def __init__(self, call: Callable[[], Awaitable[AsyncAPIResponse[R]]]) -> None:
        self._call = call
        self._response: Optional[AsyncAPIResponse[R]] = None

    async def __aenter__(self) -> AsyncAPIResponse[R]:
        self._response = await self._call()
        return self._response

    async def __aexit__(self, *exc_info: object) -> None:
        if self._response is not None:
            await self._response.close()


def _marked(kwargs: dict[str, Any], mode: str) -> dict[str, Any]:
    headers = dict(kwargs.get("extra_headers") or {})
    headers[RAW_RESPONSE_HEADER] = mode
    return {**kwargs, "extra_headers": headers}


def to_raw_response_wrapper(func: Callable[P, R]) -> Callable[P, APIResponse[R]]:
    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> APIResponse[R]:
        return cast("APIResponse[R]", func(*args, **_marked(kwargs, "raw")))

    return wrapped


def to_streamed_response_wrapper(func: Callable[P, R]) -> Callable[P, ResponseContextManager[R]]:
    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseContextManager[R]:
        def call() -> APIResponse[R]:
            return cast("APIResponse[R]", func(*args, **_marked(kwargs, "stream")))

        return ResponseContextManager(call)

    return wrapped


def async_to_raw_response_wrapper(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[AsyncAPIResponse[R]]]:
    @functools.wraps(func)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> AsyncAPIResponse[R]:
        return cast("AsyncAPIResponse[R]", await func(*args, **_marked(kwargs, "raw")))

    return wrapped


def async_to_streamed_response_wrapper(
    func: Callable[P, Awaitable[R]],
) -> Callable[P, AsyncResponseContextManager[R]]:
    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> AsyncResponseContextManager[R]:
        async def call() -> AsyncAPIResponse[R]:
            return cast("AsyncAPIResponse[R]", await func(*args, **_marked(kwargs, "stream")))

        return AsyncResponseContextManager(call)

    return wrapped
