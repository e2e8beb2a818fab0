"""The HTTP machinery under every generated client: headers, retries, timeouts, errors, parsing.

Spec-independent and hand-written; generated resources call ``request()`` only. Sync and
async clients share everything but the I/O calls, which live in ``SyncAPIClient`` and
``AsyncAPIClient``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Optional, TypeVar, Union
from urllib.parse import quote

import httpx
import pydantic

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    status_error,
)
from ._models import APIModel, construct_lenient, validate_json
from ._types import NOT_GIVEN, Headers, NotGiven, Omit, Query, Timeout

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "RAW_RESPONSE_HEADER",
    "AsyncAPIClient",
    "RequestOptions",
    "SyncAPIClient",
    "format_path",
]

DEFAULT_TIMEOUT = httpx.Timeout(timeout=600.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0  # a server asking for a longer wait gets our own backoff instead
RETRY_COUNT_HEADER = "x-retry-count"
# Set by the with_raw_response / with_streaming_response wrappers; never sent.
RAW_RESPONSE_HEADER = "x-sdkforge-raw-response"

_PACKAGE = __name__.split(".")[0]
log = logging.getLogger(_PACKAGE)
_HttpxClientT = TypeVar("_HttpxClientT", httpx.Client, httpx.AsyncClient)
_Self = TypeVar("_Self", bound="BaseClient[Any]")


def _configure_logging() -> None:
    # e.g. OPENAI_CLIENT_LOG=debug turns on request logging for the package openai_client.
    level = os.environ.get(f"{_PACKAGE.upper()}_LOG", "").lower()
    if level in ("debug", "info") and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s - %(name)s:%(lineno)d - %(levelname)s] %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if level == "debug" else logging.INFO)


_configure_logging()


class RequestOptions:
    """Per-request options every generated method accepts."""

    __slots__ = ("extra_headers", "extra_query", "extra_body", "timeout")

    def __init__(
        self,
        extra_headers: Optional[Headers] = None,
        extra_query: Optional[Query] = None,
        extra_body: Optional[Mapping[str, object]] = None,
        timeout: Union[Timeout, NotGiven] = NOT_GIVEN,
    ) -> None:
        self.extra_headers = extra_headers
        self.extra_query = extra_query
        self.extra_body = extra_body
        self.timeout = timeout


def format_path(template: str, **values: object) -> str:
    """Fill ``{name}`` placeholders with percent-encoded values (``/`` is encoded too)."""
    return template.format(**{name: quote(_path_value(value), safe="") for name, value in values.items()})


def _path_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_jsonable(value: Any) -> Any:
    """Turn models inside a request body into plain JSON data, with the API's field names."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    return value


class BaseClient(Generic[_HttpxClientT]):
    """Configuration and the parts of a request that involve no I/O."""

    _client: _HttpxClientT

    def __init__(
        self,
        *,
        base_url: Union[str, httpx.URL],
        auth_headers: Mapping[str, str],
        auth_query: Mapping[str, str],
        user_agent: str,
        timeout: Union[Timeout, NotGiven],
        max_retries: int,
        default_headers: Optional[Mapping[str, str]],
        default_query: Optional[Mapping[str, object]],
        strict_response_validation: bool,
    ) -> None:
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self.base_url = httpx.URL(str(base_url).rstrip("/") + "/")
        self.timeout: Timeout = DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
        self.max_retries = max_retries
        self.strict_response_validation = strict_response_validation
        self._auth_headers = dict(auth_headers)
        self._auth_query = dict(auth_query)
        self._user_agent = user_agent
        self._custom_headers = dict(default_headers or {})
        self._custom_query = dict(default_query or {})
        self._resources: dict[str, Any] = {}
        self._sleep: Callable[[float], None] = time.sleep
        self._async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._random: Callable[[], float] = random.random
        self._rebuild_defaults()

    def _rebuild_defaults(self) -> None:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent, **self._auth_headers}
        self._default_headers = _merge_headers(headers, self._custom_headers)
        self._default_query = {**self._auth_query, **self._custom_query}
        self._base_url_text = str(self.base_url).rstrip("/")

    def __repr__(self) -> str:
        # Never the key: only where the client points.
        return f"{type(self).__name__}(base_url={str(self.base_url)!r}, max_retries={self.max_retries})"

    # -- building requests ------------------------------------------------------------------

    def _build_request(
        self,
        method: str,
        path: str,
        *,
        body: Optional[Mapping[str, Any]],
        content: Any,
        query: Optional[Mapping[str, Any]],
        headers: Optional[Mapping[str, Any]],
        options: Optional[RequestOptions],
    ) -> tuple[httpx.Request, str]:
        """The request to send, and what the caller asked to get back ("", "raw" or "stream")."""
        merged_headers = self._default_headers
        if headers:
            merged_headers = _merge_headers(merged_headers, {k: v for k, v in headers.items() if v is not None})
        params = self._default_query
        if query:
            params = {**params, **query}
        timeout = self.timeout
        json_body: Any = to_jsonable(body) if body is not None else None
        if options is not None:
            if options.extra_headers:
                merged_headers = _merge_headers(merged_headers, options.extra_headers)
            if options.extra_query:
                params = {**params, **options.extra_query}
            if options.extra_body:
                if json_body is None:
                    json_body = {}
                if isinstance(json_body, dict):
                    json_body = {**json_body, **to_jsonable(dict(options.extra_body))}
            if not isinstance(options.timeout, NotGiven):
                timeout = options.timeout
        wants = ""
        if RAW_RESPONSE_HEADER in merged_headers or any(k.lower() == RAW_RESPONSE_HEADER for k in merged_headers):
            merged_headers = dict(merged_headers)
            for key in [k for k in merged_headers if k.lower() == RAW_RESPONSE_HEADER]:
                wants = str(merged_headers.pop(key))
        url = self._base_url_text + path
        request = self._client.build_request(
            method,
            url,
            headers=merged_headers,
            params=_query_params(params) if params else None,
            json=json_body if content is None else None,
            content=content,
            timeout=timeout,
        )
        return request, wants

    # -- retries ------------------------------------------------------------------------------

    def _should_retry(self, response: httpx.Response) -> bool:
        verdict = response.headers.get("x-should-retry")
        if verdict == "true":
            return True
        if verdict == "false":
            return False
        return response.status_code in (408, 409, 429) or response.status_code >= 500

    def _retry_delay(self, retries_taken: int, headers: Optional[httpx.Headers]) -> float:
        """Seconds to wait before the next attempt: the server's word if sane, else backoff."""
        server_delay = _retry_after(headers) if headers is not None else None
        if server_delay is not None and 0 <= server_delay <= MAX_RETRY_AFTER:
            return server_delay
        backoff = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
        return backoff * (1 - 0.25 * self._random())  # jitter: up to 25% shorter

    # -- responses ----------------------------------------------------------------------------

    def _status_error(self, response: httpx.Response) -> APIStatusError:
        text = response.text
        try:
            decoded: Any = json.loads(text) if text else None
        except ValueError:
            decoded = text
        return status_error(response, decoded)

    def _parse(self, cast_to: Any, response: httpx.Response) -> Any:
        if cast_to is None:
            return None
        content = response.content
        if cast_to is bytes:
            return content
        if cast_to is str:
            return response.text
        try:
            result = validate_json(cast_to, content)
        except pydantic.ValidationError as exc:
            try:
                data = json.loads(content)
            except ValueError:
                raise APIResponseValidationError(response, response.text, message="The response body is not JSON.") from exc
            if self.strict_response_validation:
                raise APIResponseValidationError(response, data) from exc
            result = construct_lenient(cast_to, data)
        if isinstance(result, APIModel):
            result._request_id = response.headers.get("x-request-id")
        return result

    def _log_request(self, request: httpx.Request, retries_taken: int) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("request %s %s attempt=%d headers=%s", request.method, request.url, retries_taken + 1,
                      redact_headers(request.headers))

    # -- copies -------------------------------------------------------------------------------

    def copy(
        self: _Self,
        *,
        base_url: Optional[Union[str, httpx.URL]] = None,
        timeout: Union[Timeout, NotGiven] = NOT_GIVEN,
        max_retries: Optional[int] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        set_default_headers: Optional[Mapping[str, str]] = None,
        default_query: Optional[Mapping[str, object]] = None,
        set_default_query: Optional[Mapping[str, object]] = None,
        strict_response_validation: Optional[bool] = None,
    ) -> _Self:
        """A configured copy that shares this client's connection pool.

        ``default_headers``/``default_query`` are merged into the current ones;
        ``set_default_headers``/``set_default_query`` replace them.
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError("give default_headers or set_default_headers, not both")
        if default_query is not None and set_default_query is not None:
            raise ValueError("give default_query or set_default_query, not both")
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._resources = {}
        if base_url is not None:
            clone.base_url = httpx.URL(str(base_url).rstrip("/") + "/")
        if not isinstance(timeout, NotGiven):
            clone.timeout = timeout
        if max_retries is not None:
            if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
                raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
            clone.max_retries = max_retries
        if set_default_headers is not None:
            clone._custom_headers = dict(set_default_headers)
        elif default_headers is not None:
            clone._custom_headers = {**self._custom_headers, **default_headers}
        if set_default_query is not None:
            clone._custom_query = dict(set_default_query)
        elif default_query is not None:
            clone._custom_query = {**self._custom_query, **default_query}
        if strict_response_validation is not None:
            clone.strict_response_validation = strict_response_validation
        clone._rebuild_defaults()
        return clone

    with_options = copy


class SyncAPIClient(BaseClient[httpx.Client]):
    def __init__(self, *, http_client: Optional[httpx.Client], **settings: Any) -> None:
        super().__init__(**settings)
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(timeout=self.timeout, follow_redirects=True)

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: Any,
        body: Optional[Mapping[str, Any]] = None,
        content: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, Any]] = None,
        options: Optional[RequestOptions] = None,
        stream: bool = False,
        stream_format: str = "sse",
        stream_terminator: Optional[str] = None,
    ) -> Any:
        request, wants = self._build_request(method, path, body=body, content=content, query=query, headers=headers, options=options)
        send_streaming = stream or wants == "stream"
        retries_taken = 0
        while True:
            request.headers[RETRY_COUNT_HEADER] = str(retries_taken)
            self._log_request(request, retries_taken)
            try:
                response = self._client.send(request, stream=send_streaming)
            except httpx.TimeoutException as exc:
                if retries_taken < self.max_retries:
                    self._sleep(self._retry_delay(retries_taken, None))
                    retries_taken += 1
                    continue
                raise APITimeoutError(request) from exc
            except httpx.TransportError as exc:
                if retries_taken < self.max_retries:
                    self._sleep(self._retry_delay(retries_taken, None))
                    retries_taken += 1
                    continue
                raise APIConnectionError(request=request) from exc
            if response.status_code >= 300 and not (300 <= response.status_code < 400 and not response.has_redirect_location):
                if retries_taken < self.max_retries and self._should_retry(response):
                    response.close()  # release the connection before waiting
                    self._sleep(self._retry_delay(retries_taken, response.headers))
                    retries_taken += 1
                    continue
                if send_streaming:
                    response.read()
                    response.close()
                raise self._status_error(response)
            break
        from ._response import APIResponse  # noqa: PLC0415 - only raw callers need it
        from ._streaming import Stream  # noqa: PLC0415

        if wants:
            return APIResponse(self, response, cast_to, retries_taken, stream=stream,
                               stream_format=stream_format, stream_terminator=stream_terminator)
        if stream:
            return Stream(cast_to, response, self, stream_format, stream_terminator)
        return self._parse(cast_to, response)


class AsyncAPIClient(BaseClient[httpx.AsyncClient]):
    def __init__(self, *, http_client: Optional[httpx.AsyncClient], **settings: Any) -> None:
        super().__init__(**settings)
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)

    async def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: Any,
        body: Optional[Mapping[str, Any]] = None,
        content: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, Any]] = None,
        options: Optional[RequestOptions] = None,
        stream: bool = False,
        stream_format: str = "sse",
        stream_terminator: Optional[str] = None,
    ) -> Any:
        request, wants = self._build_request(method, path, body=body, content=content, query=query, headers=headers, options=options)
        send_streaming = stream or wants == "stream"
        retries_taken = 0
        while True:
            request.headers[RETRY_COUNT_HEADER] = str(retries_taken)
            self._log_request(request, retries_taken)
            try:
                response = await self._client.send(request, stream=send_streaming)
            except httpx.TimeoutException as exc:
                if retries_taken < self.max_retries:
                    await self._async_sleep(self._retry_delay(retries_taken, None))
                    retries_taken += 1
                    continue
                raise APITimeoutError(request) from exc
            except httpx.TransportError as exc:
                if retries_taken < self.max_retries:
                    await self._async_sleep(self._retry_delay(retries_taken, None))
                    retries_taken += 1
                    continue
                raise APIConnectionError(request=request) from exc
            if response.status_code >= 300 and not (300 <= response.status_code < 400 and not response.has_redirect_location):
                if retries_taken < self.max_retries and self._should_retry(response):
                    await response.aclose()
                    await self._async_sleep(self._retry_delay(retries_taken, response.headers))
                    retries_taken += 1
                    continue
                if send_streaming:
                    await response.aread()
                    await response.aclose()
                raise self._status_error(response)
            break
        from ._response import AsyncAPIResponse  # noqa: PLC0415
        from ._streaming import AsyncStream  # noqa: PLC0415

        if wants:
            return AsyncAPIResponse(self, response, cast_to, retries_taken, stream=stream,
                                    stream_format=stream_format, stream_terminator=stream_terminator)
        if stream:
            return AsyncStream(cast_to, response, self, stream_format, stream_terminator)
        return self._parse(cast_to, response)


def _merge_headers(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Header names merge case-insensitively; an ``Omit()`` value removes the header."""
    merged = dict(base)
    lowered = {key.lower(): key for key in merged}
    for key, value in overrides.items():
        existing = lowered.pop(key.lower(), None)
        if existing is not None:
            del merged[existing]
        if isinstance(value, Omit):
            continue
        merged[key] = value
        lowered[key.lower()] = key
    return merged


def _query_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query values on the wire: booleans as true/false, lists repeated, None left out."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or isinstance(value, NotGiven):
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[key] = ["true" if v is True else "false" if v is False else v for v in value]
        else:
            out[key] = value
    return out


def _retry_after(headers: httpx.Headers) -> Optional[float]:
    """Seconds the server asked us to wait: ``retry-after-ms``, or ``Retry-After`` as seconds or a date."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return email.utils.mktime_tz(parsed) - time.time()


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credentials replaced by a marker."""
    secret = {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"}
    return {key: ("<redacted>" if key.lower() in secret else value) for key, value in headers.items()}


def credentials(kind: str, secret: str, name: Optional[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters that carry the API key, by the spec's security scheme."""
    if kind == "bearer":
        return {"Authorization": f"Bearer {secret}"}, {}
    if kind == "basic":  # the secret is "username:password"
        import base64  # noqa: PLC0415

        return {"Authorization": "Basic " + base64.b64encode(secret.encode("utf-8")).decode("ascii")}, {}
    if kind == "api_key_query":
        return {}, {name or "api_key": secret}
    return {name or "Authorization": secret}, {}
