"""Stage 1: read a YAML or JSON spec, validate it with openapi-pydantic, report problems with lines.

The fast path parses with libyaml (or json) and keeps plain data; line numbers are only
worked out, by composing the YAML node tree once, when there is a problem to report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from .errors import SpecError, SpecProblem, escape_pointer_token

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SUPPORTED = ("3.0.", "3.1.")


@dataclass(frozen=True)
class LoadedSpec:
    """A parsed, validated document and how to name places in it."""

    label: str  # the path as the user gave it, for messages and headers
    text: str
    document: Mapping[str, Any]
    version: str

    def problem(self, pointer: str, message: str, hint: str = "") -> SpecProblem:
        line, column = locate(self.text, pointer)
        return SpecProblem(self.label, pointer, message, hint, line, column)

    def fail(self, problems: Iterable[tuple[str, str, str]]) -> SpecError:
        return SpecError([self.problem(*p) for p in problems])


def load_spec(path: Path, label: str | None = None) -> LoadedSpec:
    label = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([SpecProblem(label, "#", "file not found", "check --spec or [tool.sdkforge] spec")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([SpecProblem(label, "#", f"cannot read the file: {exc}", "save it as UTF-8")]) from None
    document = _parse(text, label)
    version = _check_version(document, text, label)
    loaded = LoadedSpec(label, text, document, version)
    _validate(loaded)
    return loaded


def _parse(text: str, label: str) -> Mapping[str, Any]:
    try:
        if text.lstrip().startswith("{"):
            document = json.loads(text)
        else:
            document = yaml.load(text, Loader=_SafeLoader)
    except json.JSONDecodeError as exc:
        raise SpecError([SpecProblem(label, "#", f"not valid JSON: {exc.msg}", "fix the syntax", exc.lineno, exc.colno)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecProblem(label, "#", f"not valid YAML: {reason}", "fix the syntax", line, column)]) from None
    if not isinstance(document, dict):
        raise SpecError([SpecProblem(label, "#", "the document is not a mapping", "an OpenAPI document is a YAML or JSON object", 1, 1)])
    return document


def _check_version(document: Mapping[str, Any], text: str, label: str) -> str:
    if "swagger" in document:
        line, column = locate(text, "#/swagger")
        raise SpecError([SpecProblem(label, "#/swagger", f"this is a Swagger {document['swagger']} document, not OpenAPI 3",
                                     "convert it to OpenAPI 3 first, e.g. with swagger2openapi", line, column)])
    version = document.get("openapi")
    if version is None:
        raise SpecError([SpecProblem(label, "#", "no 'openapi' field: this is not an OpenAPI document",
                                     "add 'openapi: 3.1.0' and the rest of an OpenAPI description", 1, 1)])
    if not isinstance(version, str) or not version.startswith(_SUPPORTED):
        line, column = locate(text, "#/openapi")
        raise SpecError([SpecProblem(label, "#/openapi", f"unsupported OpenAPI version {version!r}",
                                     "sdkforge reads OpenAPI 3.0.x and 3.1.x; quote the version as a string", line, column)])
    return version


def _validate(loaded: LoadedSpec) -> None:
    from openapi_pydantic import parse_obj  # imported here: only this stage needs it

    try:
        parse_obj(dict(loaded.document))
    except pydantic.ValidationError as exc:
        problems: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for error in exc.errors():
            pointer, missing = _pointer_from_loc(loaded.document, error["loc"][1:])
            if pointer in seen:
                continue  # one line per place: pydantic reports each union branch
            seen.add(pointer)
            message = f"missing required field {missing!r}" if missing else error["msg"]
            problems.append((pointer, message, "see the OpenAPI specification for this object"))
        raise loaded.fail(problems) from None


def _pointer_from_loc(document: Any, loc: tuple[Any, ...]) -> tuple[str, str]:
    """Map a pydantic error location onto the document, skipping union branch names."""
    node = document
    tokens: list[str] = []
    missing = ""
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            tokens.append(str(part))
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            tokens.append(str(part))
        elif isinstance(part, str) and part[:1].isupper() or "[" in str(part):
            continue  # a model or union-branch name, not a key in the document
        else:
            missing = str(part)
    return "#/" + "/".join(escape_pointer_token(t) for t in tokens) if tokens else "#", missing


def locate(text: str, pointer: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the value a JSON pointer names, or of its nearest parent."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None, None
    if node is None:
        return None, None
    best = node
    for token in _split_pointer(pointer):
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == token:
                    child, best = value, key
                    break
        elif isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
            child = best = node.value[int(token)]
        if child is None:
            break
        node = child
    return best.start_mark.line + 1, best.start_mark.column + 1


def _split_pointer(pointer: str) -> list[str]:
    body = pointer[2:] if pointer.startswith("#/") else ""
    return [t.replace("~1", "/").replace("~0", "~") for t in body.split("/")] if body else []
