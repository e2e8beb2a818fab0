"""Typed streams over server-sent events, JSON lines or JSON text sequences.

``Stream[T]`` / ``AsyncStream[T]`` turn an open HTTP response into parsed items of type ``T``:

* ``"sse"``: ``text/event-stream`` (decoded by ``_sse.SSEDecoder``), each event's ``data`` is one
  item (JSON, or the text itself when ``T`` is ``str``); a ``data`` equal to the terminator (e.g.
  ``[DONE]``) ends the stream;
* ``"ndjson"``: ``application/x-ndjson`` / ``application/jsonl``, one JSON text per line;
* ``"json-seq"``: ``application/json-seq`` (RFC 7464), JSON texts each after a RS (0x1E).

Errors are never silent: an error event (``event: error``, or a JSON object with a non-empty
top-level ``error``) raises ``APIError`` with the server's message; a connection lost mid-stream
raises ``APIConnectionError`` and a read timeout ``APITimeoutError``. Nothing here retries: the
client's retry loop ends once the response headers have arrived, so no event is ever received
twice.

The HTTP response is closed whichever way iteration ends: exhausted, terminator, error,
``close()`` / ``aclose()``, the ``with`` / ``async with`` block, or the stream being garbage
collected (``break`` out of ``for chunk in client.x.create(..., stream=True)`` drops the last
reference at once). Nothing holds a reference back to the stream object, so CPython's reference
counting does this immediately, without waiting for the cycle collector.

Speed (benchmarks/streaming_throughput.py: on par with a bare httpx ``iter_lines`` + ``json.loads``
loop): one generator per stream over the raw body (``iter_raw`` unless content-encoded), bytes
all the way to pydantic-core's ``validate_json`` (bound once, without ``model_validate_json``'s
Python wrapper), an error check that costs one substring search unless an item mentions
``"error"``, and the decoder's fast path for whole ``data: ...`` events.
"""

from __future__ import annotations

import asyncio
import json
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Generic,
    Iterator,
    List,
    Optional,
    Set,
    TypeVar,
    cast,
)

import httpx
import pydantic

from ._exceptions import APIConnectionError, APIError, APIResponseValidationError, APITimeoutError, json_object
from ._models import construct_lenient, type_adapter
from ._sse import SSEDecoder

if TYPE_CHECKING:
    from ._base_client import AsyncAPIClient, SyncAPIClient

__all__ = ["Stream", "AsyncStream", "STREAM_FORMATS"]

T = TypeVar("T")

STREAM_FORMATS = ("sse", "ndjson", "json-seq")
_ERROR_MARK = b'"error"'
_RS = b"\x1e"
_DEFAULT_ERROR = "An error occurred during streaming"
# Tasks that close async responses dropped without being closed (see AsyncStream.__del__);
# the event loop only keeps weak references to tasks.
_closing: Set["asyncio.Task[None]"] = set()


class _Parser:
    """Turns one item's raw bytes into ``T``, and recognises error items. Holds no reference
    to the stream object (only to the response, for error reports)."""

    __slots__ = ("cast_to", "response", "strict", "validate")

    def __init__(self, cast_to: Any, response: httpx.Response, strict: bool, stream_format: str) -> None:
        self.cast_to = cast_to
        self.response = response
        self.strict = strict
        # ``validate(data)`` is called once per item, in the loops below: bound once, here.
        if cast_to is str and stream_format == "sse":
            self.validate: Callable[[bytes], Any] = _text  # text events are the text itself
        elif cast_to is bytes:
            self.validate = _same
        elif isinstance(cast_to, type) and issubclass(cast_to, pydantic.BaseModel):
            # What ``model_validate_json`` calls, without its Python wrapper (a third of the
            # cost of validating a small chunk).
            self.validate = cast_to.__pydantic_validator__.validate_json
        else:
            self.validate = type_adapter(cast(Any, cast_to)).validate_json

    def parse(self, data: bytes) -> Any:
        try:
            return self.validate(data)
        except pydantic.ValidationError as exc:
            return self.lenient(data, exc)

    def whole(self, body: bytes) -> Any:
        """A JSON body where a stream was expected (an error, or a server that does not stream):
        one item, or ``APIError`` for an error body, rather than a silently empty stream."""
        if _ERROR_MARK in body:
            self.check_error(body, None)
        return self.parse(body)

    def lenient(self, data: bytes, exc: pydantic.ValidationError) -> Any:
        """An item that does not match the schema: kept as sent (typed where it fits), unless
        strict validation is on; an item that is not JSON at all is always an error."""
        try:
            decoded = json.loads(data)
        except ValueError:
            text = data.decode("utf-8", "replace")
            raise APIResponseValidationError(self.response, text, message="A stream item is not valid JSON.") from exc
        if self.strict:
            raise APIResponseValidationError(self.response, decoded) from exc
        return construct_lenient(self.cast_to, decoded)

    def check_error(self, data: bytes, event: Optional[bytes]) -> None:
        """Raise ``APIError`` if the item reports an error (the caller pre-filters cheaply)."""
        try:
            decoded: Any = json.loads(data)
        except ValueError:
            decoded = None
        outer = json_object(decoded)
        error: object = outer.get("error") if outer is not None else None
        if error:
            error_object = json_object(error)
            if error_object is not None:
                message = error_object.get("message")
                text = message if isinstance(message, str) and message else _DEFAULT_ERROR
                raise APIError(text, self.response.request, body=error_object)
            raise APIError(error if isinstance(error, str) else _DEFAULT_ERROR, self.response.request, body=decoded)
        if event == b"error":
            message = outer.get("message") if outer is not None else None
            if isinstance(message, str) and message:
                text = message
            else:
                text = data.decode("utf-8", "replace").strip() or _DEFAULT_ERROR
            raise APIError(text, self.response.request, body=decoded if decoded is not None else data.decode("utf-8", "replace"))

    def transport_error(self, exc: httpx.RequestError) -> APIConnectionError:
        request = self.response.request
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(request)
        return APIConnectionError(message=f"Connection lost while streaming: {type(exc).__name__}", request=request)


# -- the item loops, one generator per stream and format -----------------------------------------
#
# Each sync loop starts by yielding ``None`` once inside its ``try``: ``Stream`` primes it at
# construction, so from then on finalising the generator (exhausted, closed, or garbage collected)
# always runs the ``finally`` that closes the response, even if iteration never began. An async
# generator cannot be primed from ``__init__``: ``AsyncStream.__del__`` covers the unstarted case.


def _sse_items(response: httpx.Response, parser: _Parser, terminator: Optional[bytes]) -> Generator[Any, None, None]:
    try:
        yield None
        if _is_json_body(response):
            yield parser.whole(response.read())
            return
        feed = SSEDecoder().feed_data
        validate = parser.validate
        mark = _ERROR_MARK
        for chunk in _chunks(response):
            for event, data in feed(chunk):
                if data == terminator:
                    return
                if event is not None or mark in data:
                    if event == b"error" or mark in data:
                        parser.check_error(data, event)
                try:
                    item = validate(data)
                except pydantic.ValidationError as exc:
                    item = parser.lenient(data, exc)
                yield item
    except httpx.RequestError as exc:
        raise parser.transport_error(exc) from exc
    finally:
        response.close()


def _ndjson_items(response: httpx.Response, parser: _Parser, terminator: Optional[bytes]) -> Generator[Any, None, None]:
    try:
        yield None
        if _is_json_body(response):
            yield parser.whole(response.read())
            return
        parse = parser.parse
        mark = _ERROR_MARK
        pending: List[bytes] = []
        for chunk in _chunks(response):
            for line in _split_lines(chunk, pending):
                if not line:
                    continue
                if line == terminator:
                    return
                if mark in line:
                    parser.check_error(line, None)
                yield parse(line)
        tail = b"".join(pending).strip()
        if tail and tail != terminator:  # a last line without its newline still counts
            if mark in tail:
                parser.check_error(tail, None)
            yield parse(tail)
    except httpx.RequestError as exc:
        raise parser.transport_error(exc) from exc
    finally:
        response.close()


def _json_seq_items(response: httpx.Response, parser: _Parser, terminator: Optional[bytes]) -> Generator[Any, None, None]:
    try:
        yield None
        if _is_json_body(response):
            yield parser.whole(response.read())
            return
        pending: List[bytes] = []
        for chunk in _chunks(response):
            for record in _split_records(chunk, pending):
                if record == terminator:
                    return
                if _ERROR_MARK in record:
                    parser.check_error(record, None)
                yield parser.parse(record)
        tail = b"".join(pending).strip()
        if tail and tail != terminator:
            if _ERROR_MARK in tail:
                parser.check_error(tail, None)
            yield parser.parse(tail)
    except httpx.RequestError as exc:
        raise parser.transport_error(exc) from exc
    finally:
        response.close()


async def _async_sse_items(response: httpx.Response, parser: _Parser, terminator: Optional[bytes]) -> AsyncGenerator[Any, None]:
    try:
        if _is_json_body(response):
            yield parser.whole(await response.aread())
            return
        feed = SSEDecoder().feed_data
        validate = parser.validate
        mark = _ERROR_MARK
        async for chunk in _achunks(response):
            for event, data in feed(chunk):
                if data == terminator:
                    return
                if event is not None or mark in data:
                    if event == b"error" or mark in data:
                        parser.check_error(data, event)
                try:
                    item = validate(data)
                except pydantic.ValidationError as exc:
                    item = parser.lenient(data, exc)
                yield item
    except httpx.RequestError as exc:
        raise parser.transport_error(exc) from exc
    finally:
        await response.aclose()


async def _async_ndjson_items(response: httpx.Response, parser: _Parser, terminator: Optional[bytes]) -> AsyncGenerator[Any, None]:
    try:
        if _is_json_body(response):
            yield parser.whole(await response.aread())
            return
        parse = parser.parse
        mark = _ERROR_MARK
        pending: List[bytes] = []
        async for chunk in _achunks(response):
            for line in _split_lines(chunk, pending):
                if not line:
                    continue
                if line == terminator:
                    return
                if mark in line:
                    parser.check_error(line, None)
                yield parse(line)
        tail = b"".join(pending).strip()
        if tail and tail != terminator:
            if mark in tail:
                parser.check_error(tail, None)
            yield parse(tail)
    except httpx.RequestError as exc:
        raise parser.transport_error(exc) from exc
    finally:
        await response.aclose()


async def _async_json_seq_items(response: httpx.Response, parser: _Parser, terminator: Optional[bytes]) -> AsyncGenerator[Any, None]:
    try:
        if _is_json_body(response):
            yield parser.whole(await response.aread())
            return
        pending: List[bytes] = []
        async for chunk in _achunks(response):
            for record in _split_records(chunk, pending):
                if record == terminator:
                    return
                if _ERROR_MARK in record:
                    parser.check_error(record, None)
                yield parser.parse(record)
        tail = b"".join(pending).strip()
        if tail and tail != terminator:
            if _ERROR_MARK in tail:
                parser.check_error(tail, None)
            yield parser.parse(tail)
    except httpx.RequestError as exc:
        raise parser.transport_error(exc) from exc
    finally:
        await response.aclose()


def _chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body as it arrives. Without a content encoding the raw stream is the body, one
    generator layer less per network chunk than ``iter_bytes()``."""
    if response.headers.get("content-encoding", "identity") == "identity":
        return response.iter_raw()
    return response.iter_bytes()


def _achunks(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.headers.get("content-encoding", "identity") == "identity":
        return response.aiter_raw()
    return response.aiter_bytes()


def _is_json_body(response: httpx.Response) -> bool:
    media: str = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _same(data: bytes) -> bytes:
    return data


def _split_lines(chunk: bytes, pending: List[bytes]) -> List[bytes]:
    """Complete lines of a JSON-lines stream (``\\n`` or ``\\r\\n``), stripped; the unfinished
    rest stays in ``pending`` (joined once, when its line ends: linear in the input)."""
    lines = chunk.split(b"\n")
    tail = lines.pop()
    if lines and pending:
        pending.append(lines[0])
        lines[0] = b"".join(pending)
        pending.clear()
    if tail:
        pending.append(tail)
    return [line.strip() for line in lines]


def _split_records(chunk: bytes, pending: List[bytes]) -> List[bytes]:
    """Complete records of a JSON text sequence (RFC 7464): a record ends where the next RS
    starts, or, for the last one, as soon as it ends with LF and holds a whole JSON text."""
    pending.append(chunk)
    if _RS not in chunk and not chunk.endswith(b"\n"):
        return []
    parts = b"".join(pending).split(_RS)
    pending.clear()
    tail = parts.pop()
    records = [part.strip() for part in parts]
    if tail.endswith(b"\n") and _is_json(tail):
        records.append(tail.strip())
    elif tail.strip():
        pending.append(tail)
    return [record for record in records if record]


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


_LOOPS = {"sse": _sse_items, "ndjson": _ndjson_items, "json-seq": _json_seq_items}
_ASYNC_LOOPS = {"sse": _async_sse_items, "ndjson": _async_ndjson_items, "json-seq": _async_json_seq_items}


def _check_format(stream_format: str) -> None:
    if stream_format not in _LOOPS:
        raise ValueError(f"unknown stream format {stream_format!r} (expected one of {', '.join(STREAM_FORMATS)})")


class Stream(Generic[T]):
    """Iterate to get each item as ``T``; ``.response`` is the HTTP response.

    Closed (and its connection released) when the items run out, at the terminator, on an
    error, by ``close()``, at the end of a ``with`` block, or when garbage collected.
    """

    response: httpx.Response

    def __init__(
        self,
        cast_to: Any,
        response: httpx.Response,
        client: SyncAPIClient,
        stream_format: str = "sse",
        terminator: Optional[str] = None,
    ) -> None:
        self.response = response
        try:
            _check_format(stream_format)
            parser = _Parser(cast_to, response, client.strict_response_validation, stream_format)
            loop = _LOOPS[stream_format](response, parser, terminator.encode("utf-8") if terminator is not None else None)
            next(loop)  # prime: see the note above the loops
        except BaseException:
            response.close()
            raise
        self._iterator = cast(Generator[T, None, None], loop)

    def __iter__(self) -> Iterator[T]:
        return self._iterator

    def __next__(self) -> T:
        return next(self._iterator)

    @property
    def request_id(self) -> Optional[str]:
        """The ``x-request-id`` header of the response, if any."""
        value: Optional[str] = self.response.headers.get("x-request-id")
        return value

    def close(self) -> None:
        """Stop reading and release the connection (safe to call more than once)."""
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Stream {self.response.request.method} {self.response.url.copy_with(query=None)} closed={self.response.is_closed}>"


class AsyncStream(Generic[T]):
    """``async for`` to get each item as ``T``; ``.response`` is the HTTP response.

    Closed (and its connection released) when the items run out, at the terminator, on an
    error, by ``await aclose()`` (or ``close()``), at the end of an ``async with`` block, or when
    garbage collected inside a running event loop (the close is scheduled on that loop).
    """

    response: httpx.Response

    def __init__(
        self,
        cast_to: Any,
        response: httpx.Response,
        client: AsyncAPIClient,
        stream_format: str = "sse",
        terminator: Optional[str] = None,
    ) -> None:
        _check_format(stream_format)
        self.response = response
        parser = _Parser(cast_to, response, client.strict_response_validation, stream_format)
        loop = _ASYNC_LOOPS[stream_format](response, parser, terminator.encode("utf-8") if terminator is not None else None)
        self._iterator = cast(AsyncGenerator[T, None], loop)
        self._next = self._iterator.__anext__

    def __aiter__(self) -> AsyncStream[T]:
        # The stream itself, not the generator: ``async for`` then holds the stream, so dropping
        # it (``break`` out of ``async for chunk in await ...``) reaches ``__del__``.
        return self

    def __anext__(self) -> Awaitable[T]:
        return self._next()

    @property
    def request_id(self) -> Optional[str]:
        """The ``x-request-id`` header of the response, if any."""
        value: Optional[str] = self.response.headers.get("x-request-id")
        return value

    async def aclose(self) -> None:
        """Stop reading and release the connection (safe to call more than once)."""
        await self._iterator.aclose()
        await self.response.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncStream {self.response.request.method} {self.response.url.copy_with(query=None)} closed={self.response.is_closed}>"

    def __del__(self) -> None:
        # No await here: hand the close to the running loop. (A generator that had started is
        # also finalised by asyncio's async-generator hooks; closing twice is harmless.)
        response: Optional[httpx.Response] = getattr(self, "response", None)
        if response is None or response.is_closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: nothing can await the close any more
            return
        task = loop.create_task(response.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)
