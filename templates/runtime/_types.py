"""Sentinels and option types shared by the runtime and the generated methods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, Union, final

import httpx


@final
class NotGiven:
    """The value of an argument the caller left out: it is not sent at all.

    ``None`` is different: it is sent as JSON ``null``.
    """

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


@final
class Omit:
    """Use as a header value to remove a header the client would otherwise send::

    client.completions.create(..., extra_headers={"User-Agent": Omit()})
    """

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "Omit()"


# Set by the with_raw_response / with_streaming_response wrappers in extra_headers ("raw" or
# "stream"); the client takes it out before sending, so it never goes over the wire.
RAW_RESPONSE_HEADER = "x-sdkforge-raw-response"

Headers: TypeAlias = Mapping[str, Union[str, Omit]]
Query: TypeAlias = Mapping[str, object]
Body: TypeAlias = Mapping[str, object]
Timeout: TypeAlias = Union[float, httpx.Timeout, None]


def strip_not_given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments the caller gave (``None`` included, ``NOT_GIVEN`` left out)."""
    return {key: value for key, value in values.items() if value is not NOT_GIVEN}
