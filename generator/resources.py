"""Where each operation lives in the client: ``client.<resource>.<sub-resource>.<method>``.

Operations group by the static segments of their path, nested where the path nests
(``/chat/completions`` -> ``client.chat.completions``). A static segment after a path
parameter that carries a single operation and nothing below it is an action on its parent
(``GET /files/{file_id}/content`` -> ``client.files.content``). A version prefix shared by
every path (``/v1``) is left out of the names. Method names come from the operationId with
the resource's own words removed (``createChatCompletion`` on ``chat.completions`` ->
``create``), else from the HTTP verb.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from . import naming

_VERSION_SEGMENT = re.compile(r"v\d+(\.\d+)?([a-z]+\d*)?|api", re.IGNORECASE)


@dataclass(frozen=True)
class Placement:
    resource: tuple[str, ...]  # attribute path, e.g. ("chat", "completions")
    method: str  # base method name, before collisions are resolved


@dataclass(frozen=True)
class OperationKey:
    path: str
    http_method: str
    operation_id: str


def url_path(path: str) -> str:
    """The path part of a paths key: ``/responses?beta=true`` and ``/x#stream`` are real keys."""
    return re.split(r"[?#]", path, maxsplit=1)[0]


def _segments(path: str) -> list[str]:
    return [s for s in url_path(path).split("/") if s]


def place(operations: list[OperationKey]) -> dict[OperationKey, Placement]:
    static = {op: _static_segments(op.path) for op in operations}
    prefix = _shared_version_prefix([_segments(op.path) for op in operations])
    if prefix:
        static = {op: segs[1:] if segs[:1] == [prefix] else segs for op, segs in static.items()}
    per_node = Counter(tuple(segs) for segs in static.values())
    parents = {tuple(segs[:i]) for segs in static.values() for i in range(1, len(segs))}
    placements: dict[OperationKey, Placement] = {}
    for op, segs in static.items():
        attribute_path = tuple(naming.snake_identifier(s, fallback="resource") for s in segs) or ("default",)
        node = tuple(segs)
        if _is_action(op.path, segs) and per_node[node] == 1 and node not in parents:
            resource, method = attribute_path[:-1], attribute_path[-1]
        else:
            resource = attribute_path
            method = _method_from_operation(op, [w for s in segs for w in naming.words(s.lower())])
        placements[op] = Placement(resource or ("default",), method)
    return placements


def _static_segments(path: str) -> list[str]:
    return [s for s in _segments(path) if not s.startswith("{")]


def _is_action(path: str, static: list[str]) -> bool:
    """The last static segment comes right after a path parameter: ``/files/{id}/content``."""
    segments = _segments(path)
    if len(static) < 2 or not segments or segments[-1].startswith("{"):
        return False
    return len(segments) >= 2 and segments[-2].startswith("{")


def _shared_version_prefix(all_segments: list[list[str]]) -> str | None:
    firsts = {segs[0] for segs in all_segments if segs}
    if len(firsts) == 1 and all(segs for segs in all_segments):
        (first,) = firsts
        if _VERSION_SEGMENT.fullmatch(first) and all(len(s) > 1 for s in all_segments):
            return first
    return None


_VERB_NAMES = {"post": "create", "put": "update", "patch": "update", "delete": "delete"}


def _method_from_operation(op: OperationKey, resource_words: list[str]) -> str:
    operation_id = _without_fastapi_suffix(op.operation_id, op.path, op.http_method)
    if operation_id:
        words = naming.words(operation_id)
        if words:
            lowered = [w.lower() for w in words]
            drop = set(resource_words) | {naming.singular(w) for w in resource_words}
            kept = [lowered[0]] + [w for w in lowered[1:] if w not in drop and not _VERSION_SEGMENT.fullmatch(w)]
            if not (len(kept) == 1 and kept[0] in drop):  # "chat" on client.chat: say what it does instead
                return naming.snake_identifier("_".join(kept), fallback=op.http_method)
    if op.http_method == "get":
        segments = _segments(op.path)
        if not segments or segments[-1].startswith("{"):
            return "retrieve"
        # /models -> list, /health -> retrieve: a singular name is one thing, not a collection
        return "retrieve" if naming.singular(segments[-1]) == segments[-1] else "list"
    return _VERB_NAMES.get(op.http_method, op.http_method)


def _without_fastapi_suffix(operation_id: str, path: str, http_method: str) -> str:
    """FastAPI's generated ids end with the path and the verb: ``list_models_v1_models_get``."""
    suffix = re.sub(r"\W", "_", url_path(path)) + "_" + http_method
    if operation_id.endswith(suffix) and len(operation_id) > len(suffix):
        return operation_id[: -len(suffix)]
    return operation_id
