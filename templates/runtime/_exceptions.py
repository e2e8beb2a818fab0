"""Errors raised by generated clients: one class per HTTP status family, plus transport errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Optional, cast

import httpx

__all__ = [
    "SDKError",
    "APIError",
    "APIStatusError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseValidationError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "status_error",
]


class SDKError(Exception):
    """Base class of every error the client raises (a missing API key, for instance)."""


class APIError(SDKError):
    """An error tied to a request: a status, a transport failure, an invalid body."""

    message: str
    request: httpx.Request
    body: object | None
    """The ``error`` object of a JSON error body, else the decoded JSON, else the text, else None."""

    def __init__(self, message: str, request: httpx.Request, *, body: object | None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body
        error = json_object(body) or {}
        self.code: Optional[str] = _optional_str(error.get("code"))
        self.param: Optional[str] = _optional_str(error.get("param"))
        self.type: Optional[str] = _optional_str(error.get("type"))


class APIResponseValidationError(APIError):
    """A 2xx body did not match the schema (only with ``strict_response_validation=True``)."""

    def __init__(self, response: httpx.Response, body: object | None, *, message: str | None = None) -> None:
        super().__init__(message or "Data returned by the API is not valid for the expected schema.", response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id: Optional[str] = response.headers.get("x-request-id")


class APIStatusError(APIError):
    """The server answered with a non-2xx status."""

    def __init__(self, message: str, *, response: httpx.Response, body: object | None) -> None:
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id: Optional[str] = response.headers.get("x-request-id")


class BadRequestError(APIStatusError):
    """HTTP 400."""


class AuthenticationError(APIStatusError):
    """HTTP 401."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403."""


class NotFoundError(APIStatusError):
    """HTTP 404."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422."""


class RateLimitError(APIStatusError):
    """HTTP 429."""


class InternalServerError(APIStatusError):
    """HTTP 500 and above."""


class APIConnectionError(APIError):
    """The request did not get a response: DNS, refused connection, connection lost, ..."""

    def __init__(self, *, message: str = "Connection error.", request: httpx.Request) -> None:
        super().__init__(message, request, body=None)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, request: httpx.Request) -> None:
        super().__init__(message="Request timed out.", request=request)


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


_MAX_DETAIL = 500  # characters of a body without error.message quoted in the message


def status_error(response: httpx.Response, decoded: Any, *, redact: Optional[Callable[[str], str]] = None) -> APIStatusError:
    """The error for a non-2xx response whose body was decoded as JSON (or is the text, or None).

    ``body`` is the ``error`` object of a JSON error body, else the decoded JSON, else the text.
    The message is ``Error code: <status>`` followed by ``error.message`` (or an ``error`` string),
    else by the start of the body; ``redact`` scrubs secrets a server might echo back.
    """
    outer = json_object(decoded)
    error: object = outer.get("error") if outer is not None else None
    error_object = json_object(error)
    body: object = error_object if error_object is not None else decoded
    detail: object = error_object.get("message") if error_object is not None else error
    if not isinstance(detail, str) or not detail:
        if isinstance(decoded, str):
            detail = decoded.strip()
        elif decoded is not None:
            detail = json.dumps(decoded, ensure_ascii=False)
        else:
            detail = ""
        if len(detail) > _MAX_DETAIL:
            detail = detail[:_MAX_DETAIL] + "..."
    if detail and redact is not None:
        detail = redact(detail)
    message = f"Error code: {response.status_code}" + (f" - {detail}" if detail else "")
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    return cls(message, response=response, body=body)


def json_object(value: object) -> Optional[dict[str, Any]]:
    """A decoded JSON object typed as one (``isinstance`` alone leaves its keys and values unknown)."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def _optional_str(value: object) -> Optional[str]:
    return value if isinstance(value, str) else None
