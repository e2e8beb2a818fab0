"""Generate a subset: only the selected operations and the component schemas they reach.

A selector is ``"POST /completions"`` (one operation), ``"/completions"`` (every method of a
path), ``"tag:Completions"`` (every operation with that tag) or an operationId.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigError
from .lower import HTTP_METHODS

_COMPONENT_PREFIX = "#/components/"


def select_operations(document: Mapping[str, Any], selectors: Iterable[str], extra_refs: Iterable[str] = ()) -> dict[str, Any]:
    wanted = [s.strip() for s in selectors if s.strip()]
    if not wanted:
        return dict(document)
    matched: set[str] = set()
    paths: dict[str, Any] = {}
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        kept = {key: value for key, value in item.items() if key not in HTTP_METHODS}
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            hits = {s for s in wanted if _matches(s, str(path), method, operation)}
            if hits:
                matched |= hits
                kept[method] = operation
        if any(method in kept for method in HTTP_METHODS):
            paths[path] = kept
    unmatched = [s for s in wanted if s not in matched]
    if unmatched:
        raise ConfigError(
            "no operation matches " + ", ".join(repr(s) for s in unmatched)
            + " (use 'METHOD /path', '/path', 'tag:Name' or an operationId)"
        )
    selected = {**document, "paths": paths}
    selected.pop("webhooks", None)
    return _prune_components(selected, tuple(extra_refs))


def _matches(selector: str, path: str, method: str, operation: Mapping[str, Any]) -> bool:
    if selector.startswith("tag:"):
        return selector[4:] in (operation.get("tags") or [])
    if " " in selector:
        verb, _, target = selector.partition(" ")
        return verb.lower() == method and target.strip() == path
    if selector.startswith("/"):
        return selector == path
    return selector == operation.get("operationId")


def _prune_components(document: dict[str, Any], extra_refs: tuple[str, ...]) -> dict[str, Any]:
    """Keep only the components reachable from paths (and from security schemes)."""
    components = document.get("components")
    if not isinstance(components, Mapping):
        return document
    reachable: set[tuple[str, str]] = set()
    pending: list[Any] = [document.get("paths"), document.get("security"), [{"$ref": r} for r in extra_refs]]
    while pending:
        for ref in _refs(pending.pop()):
            if not ref.startswith(_COMPONENT_PREFIX):
                continue
            parts = ref[len(_COMPONENT_PREFIX):].split("/")
            if len(parts) < 2:
                continue
            key = (parts[0], parts[1].replace("~1", "/").replace("~0", "~"))
            if key not in reachable:
                reachable.add(key)
                pending.append((components.get(key[0]) or {}).get(key[1]))
    pruned: dict[str, Any] = {}
    for section, entries in components.items():
        if section == "securitySchemes" or not isinstance(entries, Mapping):
            pruned[section] = entries
            continue
        pruned[section] = {name: value for name, value in entries.items() if (section, name) in reachable}
    return {**document, "components": pruned}


def _refs(node: Any) -> Iterable[str]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Mapping):
            ref = current.get("$ref")
            if isinstance(ref, str):
                yield ref
            event_schema = current.get("event-schema")  # in x-sdkforge-streaming: a $ref or a name
            if isinstance(event_schema, str):
                yield event_schema if event_schema.startswith("#") else f"{_COMPONENT_PREFIX}schemas/{event_schema}"
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
