"""The HTTP machinery under every generated client: headers, retries, timeouts, errors, parsing.

Spec-independent and hand-written; generated resources call ``request()`` only. Sync and
async clients share everything but the I/O calls, which live in ``SyncAPIClient`` and
``AsyncAPIClient``.

Hot path: everything that does not depend on the call (default headers, default query, the
base URL text, which headers are secret) is computed when a client or a copy is made, so a
request only merges what the caller passed and hands the result to httpx.

Test seams (documented in docs/client-options.md): ``client._sleep`` (sync),
``client._async_sleep`` (async) and ``client._random`` (jitter source, a ``() -> float`` in
[0, 1)) are plain attributes; replace them on a client to make retries instant and
deterministic. ``copy()``/``with_options()`` carries them over.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, Optional, TypeVar, Union, cast
from urllib.parse import quote

import httpx

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    status_error,
)
from ._encoding import encode_files, encode_form, encode_query, sequence_header
# pydantic (through _models), _response and _streaming are imported on first use, not here:
# `import <package>` and constructing a client stay cheap (pydantic's BaseModel alone costs
# tens of milliseconds), and the first response pays for them once.
from ._types import NOT_GIVEN, RAW_RESPONSE_HEADER, Headers, NotGiven, Omit, Query, Timeout

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RAW_RESPONSE_HEADER",
    "RETRY_COUNT_HEADER",
    "AsyncAPIClient",
    "RequestOptions",
    "SyncAPIClient",
    "backoff_delay",
    "format_path",
    "retry_after_seconds",
]

DEFAULT_TIMEOUT = httpx.Timeout(timeout=600.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0  # a server asking for a longer (or negative) wait gets our own backoff instead
RETRY_COUNT_HEADER = "x-retry-count"
# httpx's own default; an injected http_client with any other timeout keeps it.
_HTTPX_DEFAULT_TIMEOUT = httpx.Timeout(5.0)
# Header names whose values never reach a log line (the client adds its own auth header names).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"})
_REDACTED = "<redacted>"
_MIN_SECRET_LENGTH = 6  # shorter "secrets" would mangle messages when scrubbed

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


# What a streaming request asks for, unless the caller set its own Accept header.
_STREAM_ACCEPT = {"sse": "text/event-stream", "ndjson": "application/x-ndjson", "json-seq": "application/json-seq"}


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
    if hasattr(type(cast(object, value)), "model_dump"):  # a pydantic model
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, dict):
        fields = cast("Mapping[Any, Any]", value)
        return {key: to_jsonable(item) for key, item in fields.items()}
    if isinstance(value, (list, tuple)):
        items = cast("Sequence[Any]", value)
        return [to_jsonable(item) for item in items]
    return value


# -- retry arithmetic (pure functions, unit-tested) --------------------------------------------


def backoff_delay(retries_taken: int, jitter: float) -> float:
    """Exponential backoff: 0.5 s doubling per retry up to 8 s, made up to 25% shorter by jitter.

    ``jitter`` is a number in [0, 1) (``random.random()``): 0 gives the full delay, values
    towards 1 give down to three quarters of it.
    """
    exponent = min(max(retries_taken, 0), 16)  # 2.0 ** 1024 would overflow; the cap is long reached
    delay = min(INITIAL_RETRY_DELAY * 2.0**exponent, MAX_RETRY_DELAY)
    return delay * (1.0 - 0.25 * jitter)


def retry_after_seconds(headers: Mapping[str, str], now: Optional[Callable[[], float]] = None) -> Optional[float]:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``Retry-After`` as seconds or an
    HTTP date (relative to ``now()``, default ``time.time``). None when absent or unreadable."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return float(milliseconds) / 1000.0
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
    return float(email.utils.mktime_tz(parsed)) - (now or time.time)()


def _is_sane_wait(seconds: Optional[float]) -> bool:
    # NaN fails both comparisons, so it falls back to backoff like any absurd value.
    return seconds is not None and 0.0 <= seconds <= MAX_RETRY_AFTER


def _check_max_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
    return max_retries


def _normalize_base_url(base_url: Union[str, httpx.URL]) -> httpx.URL:
    return httpx.URL(str(base_url).rstrip("/") + "/")


class BaseClient(Generic[_HttpxClientT]):
    """Configuration and the parts of a request that involve no I/O."""

    _client: _HttpxClientT
    _owns_client: bool

    def __init__(
        self,
        *,
        base_url: Union[str, httpx.URL],
        auth_headers: Mapping[str, str],
        auth_query: Mapping[str, str],
        user_agent: str,
        timeout: Union[Timeout, NotGiven],
        max_retries: int,
        default_headers: Optional[Mapping[str, Union[str, Omit]]],
        default_query: Optional[Mapping[str, object]],
        strict_response_validation: bool,
    ) -> None:
        self.max_retries = _check_max_retries(max_retries)
        self.base_url = _normalize_base_url(base_url)
        self.timeout: Timeout = DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
        self.strict_response_validation = strict_response_validation
        self._auth_headers = dict(auth_headers)
        self._auth_query = dict(auth_query)
        self._secret_header_names = _SECRET_HEADERS | {name.lower() for name in auth_headers}
        self._secrets = _secret_values(auth_headers, auth_query)
        self._user_agent = user_agent
        self._custom_headers: dict[str, Union[str, Omit]] = dict(default_headers or {})
        self._custom_query = dict(default_query or {})
        self._resources: dict[str, Any] = {}
        # Test seams: see the module docstring and docs/client-options.md ("Testing").
        self._sleep: Callable[[float], None] = time.sleep
        self._async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._random: Callable[[], float] = random.random
        self._rebuild_defaults()

    def _rebuild_defaults(self) -> None:
        """Precompute what every request starts from (called at construction and by ``copy()``)."""
        headers: dict[str, Any] = {
            "Accept": "application/json",
            "User-Agent": self._user_agent,
            RETRY_COUNT_HEADER: "0",
            **self._auth_headers,
        }
        self._default_headers = _merge_headers(headers, self._custom_headers)
        # Omit() in default_headers must also beat httpx's own defaults (User-Agent, Accept-Encoding, ...).
        self._omitted_headers = tuple(k for k, v in self._custom_headers.items() if isinstance(v, Omit))
        self._default_query = {**self._auth_query, **self._custom_query}
        self._base_url_text = str(self.base_url).rstrip("/")

    def __repr__(self) -> str:
        # Never the key (nor anything else from the headers): only where the client points.
        return f"{type(self).__name__}(base_url={str(self.base_url)!r}, max_retries={self.max_retries})"

    def is_closed(self) -> bool:
        return self._client.is_closed

    # -- building requests ------------------------------------------------------------------

    def _build_request(
        self,
        method: str,
        path: str,
        *,
        body: Any,
        content: Any,
        query: Optional[Mapping[str, Any]],
        headers: Optional[Mapping[str, Any]],
        options: Optional[RequestOptions],
        files: Optional[Mapping[str, Any]] = None,
        body_encoding: str = "json",
        query_styles: Optional[Mapping[str, str]] = None,
        cookies: Optional[Mapping[str, Any]] = None,
    ) -> tuple[httpx.Request, str]:
        """The request to send, and what the caller asked to get back ("", "raw" or "stream")."""
        merged_headers = self._default_headers
        omitted = self._omitted_headers
        if headers:
            # Header parameters may be integers, booleans or arrays: simple style, comma-joined.
            given = {k: v if isinstance(v, str) else sequence_header(v) for k, v in headers.items() if v is not None}
            merged_headers = _merge_headers(merged_headers, given)
        params = self._default_query
        if query:
            params = {**params, **query}
        timeout = self.timeout
        json_body: Any = to_jsonable(body) if body is not None else None
        wants = ""
        if options is not None:
            extra_headers = options.extra_headers
            if extra_headers:
                if RAW_RESPONSE_HEADER in extra_headers:  # set by with_raw_response / with_streaming_response
                    wants = str(extra_headers[RAW_RESPONSE_HEADER])
                    extra_headers = {k: v for k, v in extra_headers.items() if k != RAW_RESPONSE_HEADER}
                merged_headers = _merge_headers(merged_headers, extra_headers)
                dropped = tuple(k for k, v in extra_headers.items() if isinstance(v, Omit))
                if dropped:
                    omitted = omitted + dropped
            if options.extra_query:
                params = {**params, **options.extra_query}
            if options.extra_body:
                if json_body is None:
                    json_body = {}
                if not isinstance(json_body, dict):
                    raise TypeError("extra_body needs a JSON object request body to merge into")
                json_body = {**cast("dict[str, Any]", json_body), **to_jsonable(dict(options.extra_body))}
            if not isinstance(options.timeout, NotGiven):
                timeout = options.timeout
        form: Optional[dict[str, Any]] = None
        if body_encoding != "json" and content is None:
            # form and multipart bodies: fields as form data, files as parts (see _encoding)
            form = {}
            for key, value in encode_form(json_body or {}):
                form.setdefault(key, []).append(value)
            json_body = None
        if cookies:
            cookie = "; ".join(f"{k}={v}" for k, v in encode_form(cookies))
            merged_headers = _merge_headers(merged_headers, {"Cookie": cookie}) if cookie else merged_headers
        request = self._client.build_request(
            method,
            self._base_url_text + path,
            headers=merged_headers,
            params=_encoded_params(params, query_styles),
            json=json_body if content is None else None,
            data=form or None,
            files=encode_files(files) if files else None,
            content=content,
            timeout=timeout,
        )
        if omitted:
            kept = {name.lower() for name in merged_headers}
            for name in omitted:
                if name.lower() not in kept:
                    request.headers.pop(name, None)
        return request, wants

    # -- retries ------------------------------------------------------------------------------

    def _should_retry(self, response: httpx.Response) -> bool:
        verdict = response.headers.get("x-should-retry")
        if verdict == "true":
            return True
        if verdict == "false":
            return False
        status = response.status_code
        return status == 408 or status == 409 or status == 429 or status >= 500

    def _retry_delay(self, retries_taken: int, headers: Optional[Mapping[str, str]]) -> float:
        """Seconds to wait before retry number ``retries_taken + 1``: the server's word if sane, else backoff."""
        if headers is not None:
            server_delay = retry_after_seconds(headers)
            if server_delay is not None and _is_sane_wait(server_delay):
                return server_delay
        return backoff_delay(retries_taken, self._random())

    @staticmethod
    def _next_attempt(request: httpx.Request, retries_taken: int) -> int:
        retries_taken += 1
        if RETRY_COUNT_HEADER in request.headers:  # absent when the caller removed it with Omit()
            request.headers[RETRY_COUNT_HEADER] = str(retries_taken)
        return retries_taken

    # -- responses and errors -----------------------------------------------------------------

    def _is_error(self, response: httpx.Response) -> bool:
        status = response.status_code
        return status >= 400 or (status >= 300 and response.has_redirect_location)

    def _status_error(self, response: httpx.Response) -> APIStatusError:
        text = response.text
        try:
            decoded: Any = json.loads(text) if text else None
        except ValueError:
            decoded = text
        return status_error(response, decoded, redact=self._redact if self._secrets else None)

    def _request_error(self, exc: httpx.RequestError, request: httpx.Request) -> APIConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(request)
        detail = self._redact(str(exc)) if str(exc) else ""
        return APIConnectionError(message=f"Connection error: {type(exc).__name__}" + (f": {detail}" if detail else ""),
                                  request=request)

    def _parse(self, cast_to: Any, response: httpx.Response) -> Any:
        if cast_to is None:
            return None
        content = response.content
        if cast_to is bytes:
            return content
        if cast_to is str:
            return response.text
        from ._models import APIModel, ValidationError, construct_lenient, validate_json  # noqa: PLC0415

        try:
            result = validate_json(cast_to, content)
        except ValidationError as exc:
            try:
                data = json.loads(content)
            except ValueError:
                raise APIResponseValidationError(response, response.text, message="The response body is not JSON.") from exc
            if self.strict_response_validation:
                raise APIResponseValidationError(response, data) from exc
            result = construct_lenient(cast_to, data)
        if isinstance(result, APIModel):
            setattr(result, "_request_id", response.headers.get("x-request-id"))  # the runtime's own protected field
        return result

    # -- logging (only ever called when the level is enabled) -----------------------------------

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def _redacted_url(self, url: httpx.URL) -> str:
        text = str(url)
        if self._auth_query and any(name in url.params for name in self._auth_query):
            for name in self._auth_query:
                if name in url.params:
                    url = url.copy_set_param(name, _REDACTED)
            text = str(url).replace(quote(_REDACTED, safe=""), _REDACTED)
        return self._redact(text)

    def _log_request(self, request: httpx.Request, retries_taken: int) -> None:
        secret_names = self._secret_header_names
        headers = {k: (_REDACTED if k.lower() in secret_names else self._redact(v)) for k, v in request.headers.items()}
        log.debug("request %s %s attempt=%d headers=%s", request.method, self._redacted_url(request.url), retries_taken + 1, headers)

    def _log_response(self, request: httpx.Request, response: httpx.Response) -> None:
        log.debug("response %s %s -> %d request_id=%s", request.method, self._redacted_url(request.url),
                  response.status_code, response.headers.get("x-request-id"))

    def _log_retry(self, request: httpx.Request, delay: float, reason: str) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        log.info("retrying %s %s in %.3f s (%s)", request.method, self._redacted_url(request.url), delay, reason)

    # -- copies -------------------------------------------------------------------------------

    def copy(
        self: _Self,
        *,
        base_url: Optional[Union[str, httpx.URL]] = None,
        timeout: Union[Timeout, NotGiven] = NOT_GIVEN,
        max_retries: Optional[int] = None,
        default_headers: Optional[Mapping[str, Union[str, Omit]]] = None,
        set_default_headers: Optional[Mapping[str, Union[str, Omit]]] = None,
        default_query: Optional[Mapping[str, object]] = None,
        set_default_query: Optional[Mapping[str, object]] = None,
        strict_response_validation: Optional[bool] = None,
    ) -> _Self:
        """A configured copy that shares this client's connection pool; this client is left as it was.

        ``default_headers``/``default_query`` are merged into the current ones;
        ``set_default_headers``/``set_default_query`` replace them. The pool stays owned by the
        client that created it: ``close()`` on a copy does nothing, ``close()`` on the original
        closes the pool for every copy.
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError("give default_headers or set_default_headers, not both")
        if default_query is not None and set_default_query is not None:
            raise ValueError("give default_query or set_default_query, not both")
        if max_retries is not None:
            _check_max_retries(max_retries)
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._resources = {}
        clone._owns_client = False
        if base_url is not None:
            clone.base_url = _normalize_base_url(base_url)
        if not isinstance(timeout, NotGiven):
            clone.timeout = timeout
        if max_retries is not None:
            clone.max_retries = max_retries
        if set_default_headers is not None:
            clone._custom_headers = dict(set_default_headers)
        elif default_headers is not None:
            clone._custom_headers = _merge_headers(self._custom_headers, default_headers, keep_omit=True)
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
        if http_client is not None:
            if not isinstance(cast(object, http_client), httpx.Client):  # callers without a type checker
                raise TypeError(f"http_client must be an httpx.Client, got {type(http_client).__name__}")
            settings = _timeout_from(http_client, settings)
        super().__init__(**settings)
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else httpx.Client(timeout=self.timeout, follow_redirects=True)

    def close(self) -> None:
        """Close the connection pool (only if this client created it; not an injected one, not from a copy)."""
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
        body: Any = None,
        content: Any = None,
        files: Optional[Mapping[str, Any]] = None,
        body_encoding: str = "json",
        query_styles: Optional[Mapping[str, str]] = None,
        cookies: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, Any]] = None,
        options: Optional[RequestOptions] = None,
        stream: bool = False,
        stream_format: str = "sse",
        stream_terminator: Optional[str] = None,
    ) -> Any:
        request, wants = self._build_request(
            method, path, body=body, content=content, query=query, headers=headers, options=options,
            files=files, body_encoding=body_encoding, query_styles=query_styles, cookies=cookies,
        )
        send_streaming = stream or wants == "stream"
        if stream and request.headers.get("accept") == "application/json":
            request.headers["Accept"] = _STREAM_ACCEPT.get(stream_format, "*/*")
        retries_taken = 0
        debug = log.isEnabledFor(logging.DEBUG)
        while True:
            if debug:
                self._log_request(request, retries_taken)
            try:
                response = self._client.send(request, stream=send_streaming)
            except httpx.RequestError as exc:
                # Transport failures (connect, read, timeout, dropped connection) are retried;
                # decoding errors and redirect loops are not transient.
                if retries_taken < self.max_retries and isinstance(exc, httpx.TransportError):
                    delay = self._retry_delay(retries_taken, None)
                    self._log_retry(request, delay, type(exc).__name__)
                    self._sleep(delay)
                    retries_taken = self._next_attempt(request, retries_taken)
                    continue
                raise self._request_error(exc, request) from exc
            if debug:
                self._log_response(request, response)
            if self._is_error(response):
                if retries_taken < self.max_retries and self._should_retry(response):
                    if _worth_draining(response):  # a small unread error body: read it so the connection is reused
                        try:
                            response.read()
                        except httpx.HTTPError:
                            pass
                    response.close()  # release the connection before waiting
                    delay = self._retry_delay(retries_taken, response.headers)
                    self._log_retry(request, delay, f"status {response.status_code}")
                    self._sleep(delay)
                    retries_taken = self._next_attempt(request, retries_taken)
                    continue
                if send_streaming:
                    try:
                        response.read()
                    except httpx.RequestError as exc:
                        raise self._request_error(exc, request) from exc
                    finally:
                        response.close()
                raise self._status_error(response)
            break

        if wants:
            from ._response import APIResponse  # noqa: PLC0415

            return APIResponse[Any](self, response, cast_to, retries_taken, stream=stream,
                               stream_format=stream_format, stream_terminator=stream_terminator)
        if stream:
            from ._streaming import Stream  # noqa: PLC0415

            return Stream[Any](cast_to, response, self, stream_format, stream_terminator)
        return self._parse(cast_to, response)


class AsyncAPIClient(BaseClient[httpx.AsyncClient]):
    def __init__(self, *, http_client: Optional[httpx.AsyncClient], **settings: Any) -> None:
        if http_client is not None:
            if not isinstance(cast(object, http_client), httpx.AsyncClient):  # callers without a type checker
                raise TypeError(f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}")
            settings = _timeout_from(http_client, settings)
        super().__init__(**settings)
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)

    async def close(self) -> None:
        """Close the connection pool (only if this client created it; not an injected one, not from a copy)."""
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
        body: Any = None,
        content: Any = None,
        files: Optional[Mapping[str, Any]] = None,
        body_encoding: str = "json",
        query_styles: Optional[Mapping[str, str]] = None,
        cookies: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, Any]] = None,
        options: Optional[RequestOptions] = None,
        stream: bool = False,
        stream_format: str = "sse",
        stream_terminator: Optional[str] = None,
    ) -> Any:
        request, wants = self._build_request(
            method, path, body=body, content=content, query=query, headers=headers, options=options,
            files=files, body_encoding=body_encoding, query_styles=query_styles, cookies=cookies,
        )
        send_streaming = stream or wants == "stream"
        if stream and request.headers.get("accept") == "application/json":
            request.headers["Accept"] = _STREAM_ACCEPT.get(stream_format, "*/*")
        retries_taken = 0
        debug = log.isEnabledFor(logging.DEBUG)
        while True:
            if debug:
                self._log_request(request, retries_taken)
            try:
                response = await self._client.send(request, stream=send_streaming)
            except httpx.RequestError as exc:
                if retries_taken < self.max_retries and isinstance(exc, httpx.TransportError):
                    delay = self._retry_delay(retries_taken, None)
                    self._log_retry(request, delay, type(exc).__name__)
                    await self._async_sleep(delay)
                    retries_taken = self._next_attempt(request, retries_taken)
                    continue
                raise self._request_error(exc, request) from exc
            if debug:
                self._log_response(request, response)
            if self._is_error(response):
                if retries_taken < self.max_retries and self._should_retry(response):
                    if _worth_draining(response):
                        try:
                            await response.aread()
                        except httpx.HTTPError:
                            pass
                    await response.aclose()
                    delay = self._retry_delay(retries_taken, response.headers)
                    self._log_retry(request, delay, f"status {response.status_code}")
                    await self._async_sleep(delay)
                    retries_taken = self._next_attempt(request, retries_taken)
                    continue
                if send_streaming:
                    try:
                        await response.aread()
                    except httpx.RequestError as exc:
                        raise self._request_error(exc, request) from exc
                    finally:
                        await response.aclose()
                raise self._status_error(response)
            break

        if wants:
            from ._response import AsyncAPIResponse  # noqa: PLC0415

            return AsyncAPIResponse[Any](self, response, cast_to, retries_taken, stream=stream,
                                    stream_format=stream_format, stream_terminator=stream_terminator)
        if stream:
            from ._streaming import AsyncStream  # noqa: PLC0415

            return AsyncStream[Any](cast_to, response, self, stream_format, stream_terminator)
        return self._parse(cast_to, response)


_MAX_DRAIN = 64 * 1024


def _worth_draining(response: httpx.Response) -> bool:
    """An unread (streamed) response whose declared body is small enough to read before closing,
    so its keep-alive connection goes back to the pool instead of being torn down."""
    if response.is_stream_consumed:
        return False
    length = response.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= _MAX_DRAIN


def _timeout_from(http_client: Union[httpx.Client, httpx.AsyncClient], settings: dict[str, Any]) -> dict[str, Any]:
    """An injected client's own timeout is kept unless the caller gave one (or it is httpx's default)."""
    if isinstance(settings.get("timeout", NOT_GIVEN), NotGiven) and http_client.timeout != _HTTPX_DEFAULT_TIMEOUT:
        return {**settings, "timeout": http_client.timeout}
    return settings


def _merge_headers(base: Mapping[str, Any], overrides: Mapping[str, Any], *, keep_omit: bool = False) -> dict[str, Any]:
    """Header names merge case-insensitively; an ``Omit()`` value removes the header
    (or, with ``keep_omit``, is kept as the marker, for default headers that must beat httpx's own)."""
    merged = dict(base)
    lowered = {key.lower(): key for key in merged}
    for key, value in overrides.items():
        existing = lowered.pop(key.lower(), None)
        if existing is not None:
            del merged[existing]
        if isinstance(value, Omit) and not keep_omit:
            continue
        merged[key] = value
        lowered[key.lower()] = key
    return merged


def _encoded_params(params: Mapping[str, Any], styles: Optional[Mapping[str, str]]) -> Any:
    if not params:
        return None
    return encode_query(params, styles) if styles else _query_params(params)


def _query_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query values on the wire: booleans as true/false, lists repeated, None left out."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or isinstance(value, NotGiven):
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            values = cast("Sequence[Any]", value)
            out[key] = ["true" if v is True else "false" if v is False else v for v in values]
        else:
            out[key] = value
    return out


def _secret_values(auth_headers: Mapping[str, str], auth_query: Mapping[str, str]) -> tuple[str, ...]:
    """The strings that must never be shown: header values, the token after a scheme
    ("Bearer sk-..."), query values. Longest first, so a value is scrubbed before its part."""
    found: set[str] = set()
    for value in [*auth_headers.values(), *auth_query.values()]:
        found.add(value)
        _, _, token = value.partition(" ")
        if token:
            found.add(token.strip())
    return tuple(sorted((s for s in found if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True))


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
