"""Make every ``$ref`` a local JSON pointer before anything else reads the document.

OpenAPI 3.1 schemas may name themselves with ``$id`` and mark places with ``$anchor``; a
``$ref`` may then say ``/components/schemas/petdetails#pet_details_id``. The later stages
(and datamodel-code-generator) only follow ``#/...`` pointers, so such references are
rewritten to the pointer of the schema they name. A ``$ref`` whose value is null (in YAML,
``$ref: #/x`` without quotes is a comment) becomes an empty schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import escape_pointer_token


def canonical_refs(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The document with local pointers only, and warnings ``(pointer, message, hint)``."""
    ids: dict[str, str] = {}
    anchors: dict[str, str] = {}
    _index(document, "#", "", ids, anchors)
    warnings: list[tuple[str, str, str]] = []
    if not ids and not anchors and not _has_null_ref(document):
        return dict(document), warnings
    return _rewrite(document, "#", ids, anchors, warnings), warnings


def _index(node: Any, where: str, base: str, ids: dict[str, str], anchors: dict[str, str]) -> None:
    if isinstance(node, Mapping):
        own = node.get("$id")
        if isinstance(own, str) and where != "#":
            base = own.rstrip("/")
            ids.setdefault(base, where)
        anchor = node.get("$anchor")
        if isinstance(anchor, str):
            anchors.setdefault(f"{base}#{anchor}", where)
            anchors.setdefault(f"#{anchor}", where)
        for key, value in node.items():
            _index(value, f"{where}/{escape_pointer_token(str(key))}", base, ids, anchors)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _index(value, f"{where}/{index}", base, ids, anchors)


def _has_null_ref(node: Any) -> bool:
    if isinstance(node, Mapping):
        return ("$ref" in node and node["$ref"] is None) or any(_has_null_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_null_ref(v) for v in node)
    return False


def _rewrite(node: Any, where: str, ids: Mapping[str, str], anchors: Mapping[str, str],
             warnings: list[tuple[str, str, str]]) -> Any:
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            at = f"{where}/{escape_pointer_token(str(key))}"
            if key == "$ref":
                if value is None:
                    warnings.append((at, "$ref is null (an unquoted '#' starts a YAML comment); read as any value",
                                     "quote the reference: $ref: '#/components/schemas/...'"))
                    continue
                if isinstance(value, str) and not value.startswith("#"):
                    target = anchors.get(value) or ids.get(value.rstrip("/"))
                    if target is None and "#" in value:
                        base, _, fragment = value.partition("#")
                        target = ids.get(base.rstrip("/"))
                        if target is not None and fragment.startswith("/"):
                            target = target + fragment
                    if target is not None:
                        out[key] = target
                        continue
            out[key] = _rewrite(value, at, ids, anchors, warnings)
        return out
    if isinstance(node, list):
        return [_rewrite(value, f"{where}/{index}", ids, anchors, warnings) for index, value in enumerate(node)]
    return node
