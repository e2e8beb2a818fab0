"""Typed streams over server-sent events or NDJSON, closed on every way out of a loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar

import httpx
import pydantic

from ._exceptions import APIConnectionError, APIError, APIResponseValidationError, APITimeoutError
from ._models import construct_lenient, type_adapter
from ._sse import SSEDecoder

if TYPE_CHECKING:
    from ._base_client import AsyncAPIClient, SyncAPIClient

__all__ = ["Stream", "AsyncStream"]

T = TypeVar("T")


def _validator(cast_to: Any) -> Callable[[str], Any]:
    if isinstance(cast_to, type) and issubclass(cast_to, pydantic.BaseModel):
        return cast_to.model_validate_json
    return type_adapter(cast_to).validate_json


class _StreamBase(Generic[T]):
    response: httpx.Response

    def __init__(self, cast_to: Any, response: httpx.Response, strict: bool, stream_format: str, terminator: Optional[str]) -> None:
        self.response = response
        self._cast_to = cast_to
        self._validate = _validator(cast_to)
        self._strict = strict
        self._format = stream_format
        self._terminator = terminator

    def _decode(self, data: str, event: Optional[str]) -> T:
        """One event's payload as ``T``; an error payload raises ``APIError``."""
        if event == "error" or '"error"' in data:
            self._raise_if_error(data, event)
        try:
            return self._validate(data)  # type: ignore[no-any-return]
        except pydantic.ValidationError as exc:
            try:
                decoded = json.loads(data)
            except ValueError:
                raise APIResponseValidationError(self.response, data, message="A stream event is not JSON.") from exc
            if self._strict:
                raise APIResponseValidationError(self.response, decoded) from exc
            return construct_lenient(self._cast_to, decoded)  # type: ignore[no-any-return]

    def _raise_if_error(self, data: str, event: Optional[str]) -> None:
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = None
        error = decoded.get("error") if isinstance(decoded, dict) else None
        if isinstance(error, dict):
            message = error.get("message")
            raise APIError(message if isinstance(message, str) and message else "An error occurred during streaming",
                           self.response.request, body=error)
        if event == "error":
            raise APIError(data or "An error occurred during streaming", self.response.request, body=decoded if decoded is not None else data)

    def _transport_error(self, exc: Exception) -> APIError:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(self.response.request)
        return APIConnectionError(message=f"Connection lost while streaming: {type(exc).__name__}", request=self.response.request)


class Stream(_StreamBase[T]):
    """Iterate to get each event as ``T``. The HTTP response is closed when the stream ends,
    on ``break`` (through ``close()``, the context manager, or garbage collection) and on errors."""

    def __init__(self, cast_to: Any, response: httpx.Response, client: SyncAPIClient, stream_format: str, terminator: Optional[str]) -> None:
        super().__init__(cast_to, response, client.strict_response_validation, stream_format, terminator)
        self._iterator = self._events()

    def __iter__(self) -> Iterator[T]:
        return self._iterator

    def __next__(self) -> T:
        return next(self._iterator)

    def _events(self) -> Generator[T, None, None]:
        try:
            if self._format == "ndjson":
                for line in self.response.iter_lines():
                    if line.strip():
                        yield self._decode(line, None)
                return
            terminator = self._terminator
            for event in SSEDecoder().iter_events(self.response.iter_bytes()):
                if event.data == terminator:
                    return
                yield self._decode(event.data, event.event)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        finally:
            self.response.close()

    def close(self) -> None:
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        response = getattr(self, "response", None)
        if response is not None and not response.is_closed:
            response.close()


class AsyncStream(_StreamBase[T]):
    """``async for`` to get each event as ``T``; see ``Stream``."""

    def __init__(self, cast_to: Any, response: httpx.Response, client: AsyncAPIClient, stream_format: str, terminator: Optional[str]) -> None:
        super().__init__(cast_to, response, client.strict_response_validation, stream_format, terminator)
        self._iterator = self._events()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterator

    async def __anext__(self) -> T:
        return await self._iterator.__anext__()

    async def _events(self) -> AsyncGenerator[T, None]:
        try:
            if self._format == "ndjson":
                async for line in self.response.aiter_lines():
                    if line.strip():
                        yield self._decode(line, None)
                return
            terminator = self._terminator
            async for event in SSEDecoder().aiter_events(self.response.aiter_bytes()):
                if event.data == terminator:
                    return
                yield self._decode(event.data, event.event)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        finally:
            await self.response.aclose()

    async def close(self) -> None:
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __del__(self) -> None:
        # No await here: hand the close to the running loop, if there is one.
        response = getattr(self, "response", None)
        if response is None or response.is_closed:
            return
        try:
            asyncio.get_running_loop().create_task(response.aclose())
        except RuntimeError:
            pass
