"""Base class of every generated model, and lenient parsing of bodies that break the schema."""

from __future__ import annotations

import functools
import types
from collections.abc import Sequence
from typing import Any, Optional, TypeVar, Union, cast, get_args, get_origin

import pydantic
from pydantic import ValidationError

__all__ = ["APIModel", "ValidationError", "construct_lenient", "type_adapter", "validate_json"]

T = TypeVar("T")


class APIModel(pydantic.BaseModel):
    """A response or event object. Unknown fields are kept (``extra="allow"``)."""

    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True)

    # Not a ``PrivateAttr``: a model with private attributes makes pydantic call back into Python
    # for every instance it validates, which doubles the cost of parsing a small object (a stream
    # chunk). The value lives in ``__pydantic_private__``, set only when there is one.
    @property
    def _request_id(self) -> Optional[str]:
        private = self.__pydantic_private__
        return private.get("_request_id") if private else None

    @_request_id.setter
    def _request_id(self, value: Optional[str]) -> None:
        object.__setattr__(self, "__pydantic_private__", {"_request_id": value})

    @property
    def request_id(self) -> Optional[str]:
        """The ``x-request-id`` of the response this object came from, if any."""
        return self._request_id

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-compatible data, with the API's field names, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def to_json(self, *, indent: Optional[int] = 2) -> str:
        return self.model_dump_json(by_alias=True, exclude_unset=True, indent=indent)


@functools.lru_cache(maxsize=None)
def type_adapter(tp: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(tp)


def validate_json(cast_to: Any, content: Union[str, bytes]) -> Any:
    """Parse and validate a JSON document in one pass in pydantic-core."""
    if isinstance(cast_to, type) and issubclass(cast_to, pydantic.BaseModel):
        return cast_to.model_validate_json(content)
    return type_adapter(cast(Any, cast_to)).validate_json(content)


def construct_lenient(cast_to: Any, data: Any) -> Any:
    """Build ``cast_to`` from ``data`` keeping every value, validating what fits.

    Used when a 2xx body does not match the schema and strict validation is off: fields that
    validate are typed, the others are kept as the server sent them.
    """
    if isinstance(cast_to, type) and issubclass(cast_to, pydantic.BaseModel):
        if not isinstance(data, dict):
            return data
        given = cast("dict[str, Any]", data)
        values: dict[str, Any] = {}
        by_alias = {(field.alias or name): name for name, field in cast_to.model_fields.items()}
        for key, value in given.items():
            name = by_alias.get(key)
            if name is None:
                values[key] = value
                continue
            values[name] = _field_value(cast_to.model_fields[name].annotation, value)
        return cast_to.model_construct(**values)
    return _field_value(cast_to, data)


def _field_value(annotation: Any, value: Any) -> Any:
    try:
        return type_adapter(annotation).validate_python(value)
    except (pydantic.ValidationError, TypeError, pydantic.PydanticSchemaGenerationError):
        pass
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        for member in get_args(annotation):
            if isinstance(member, type) and issubclass(member, pydantic.BaseModel) and isinstance(value, dict):
                return construct_lenient(member, value)
        return value
    if origin is list and isinstance(value, list):
        (item,) = get_args(annotation) or (Any,)
        items = cast("Sequence[Any]", value)
        return [_field_value(item, v) for v in items]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return construct_lenient(annotation, value)
    return value
