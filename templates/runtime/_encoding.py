"""Request encodings other than JSON: query styles, form bodies, multipart files."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Union, cast

import pydantic

__all__ = ["FileTypes", "encode_query", "encode_form", "encode_files"]

FileContent = Union[bytes, IO[bytes], os.PathLike[str]]
FileTypes = Union[
    FileContent,
    tuple[str, FileContent],
    tuple[str, FileContent, str],
]
"""A file to upload: bytes, an open binary file, a path, or ``(filename, content[, content_type])``."""


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump_json(by_alias=True, exclude_unset=True)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def encode_query(params: Mapping[str, Any], styles: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Query pairs. Lists repeat the key (form, exploded) unless a style says otherwise;
    ``deepObject`` turns ``{"a": 1}`` into ``key[a]=1``; ``None`` values are left out."""
    pairs: list[tuple[str, str]] = []
    styles = styles or {}
    for key, value in params.items():
        if value is None:
            continue
        style = styles.get(key, "default")
        if style == "deepObject" and isinstance(value, Mapping):
            fields = cast("Mapping[str, Any]", value)
            for sub, item in fields.items():
                if item is not None:
                    items = cast("Sequence[Any]", item) if isinstance(item, list) else [item]
                    pairs.extend((f"{key}[{sub}]", _scalar(v)) for v in items)
        elif isinstance(value, (list, tuple)):
            values = cast("Sequence[Any]", value)
            if style == "form":
                pairs.append((key, ",".join(_scalar(v) for v in values)))
            elif style == "spaceDelimited":
                pairs.append((key, " ".join(_scalar(v) for v in values)))
            elif style == "pipeDelimited":
                pairs.append((key, "|".join(_scalar(v) for v in values)))
            else:
                pairs.extend((key, _scalar(v)) for v in values)
        else:
            pairs.append((key, _scalar(value)))
    return pairs


def encode_form(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Form fields (urlencoded or the non-file parts of multipart): lists repeat the key."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            values = cast("Sequence[Any]", value)
            pairs.extend((key, _scalar(v)) for v in values)
        else:
            pairs.append((key, _scalar(value)))
    return pairs


def encode_files(files: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """httpx ``files=`` entries; a list of files repeats the field."""
    entries: list[tuple[str, Any]] = []
    for key, value in files.items():
        if value is None:
            continue
        items = cast("Sequence[Any]", value) if isinstance(value, list) else [value]
        entries.extend((key, _file(item)) for item in items)
    return entries


def _file(value: Any) -> Any:
    if isinstance(value, tuple):
        parts = cast("Sequence[Any]", value)
        name, content, *rest = parts
        return (name, _content(content), *rest)
    if isinstance(value, os.PathLike):
        path = Path(cast("os.PathLike[str]", value))
        return (path.name, path.read_bytes())
    if isinstance(value, bytes):
        return ("upload", value)
    name = getattr(value, "name", None)
    return (os.path.basename(name) if isinstance(name, str) else "upload", value)


def _content(content: Any) -> Any:
    if isinstance(content, os.PathLike):
        return Path(cast("os.PathLike[str]", content)).read_bytes()
    if isinstance(content, (bytes, io.IOBase)) or hasattr(content, "read"):
        return content
    raise TypeError(f"expected bytes, a binary file or a path, got {type(content).__name__}")


def sequence_header(value: Any) -> str:
    """A header value: lists comma-joined (OpenAPI's simple style)."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        values = cast("Iterable[Any]", value)
        return ",".join(_scalar(v) for v in values)
    return _scalar(value)
