"""Stage 1: read a YAML or JSON spec into plain data, and say where a JSON pointer is in the file.

Reading stops only for what makes the rest meaningless: an unreadable file, bad syntax, a
document that is not an OpenAPI 3.0/3.1 mapping. Everything else (conformance to OpenAPI,
what the generator can use) is checked as a whole by ``validate``, which reports every
problem in one run.

YAML is read with the YAML 1.2 core schema, the one OpenAPI 3.1 names: ``yes``, ``no``,
``on`` and ``off`` stay strings, dates stay strings, ``010`` is ten. Duplicate keys, which
both YAML and JSON parsers silently resolve to the last one, are remembered as problems.

Line numbers are worked out only when there is something to report: the file's position
index (the YAML node tree, or a scan of the JSON text) is built once per run and shared
by every problem.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .errors import Severity, SpecError, SpecProblem, escape_pointer_token

_CSafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64  # nesting of mappings and lists in the document (real APIs: at most ~25)
MAX_NODES = 1_000_000  # values in the document, each YAML alias counted as often as it is used
_SUPPORTED = ("3.0.", "3.1.", "3.2.")


# -- YAML with the 1.2 core schema and duplicate-key detection ------------------------------


class _Loader(_CSafeLoader):  # type: ignore[misc]
    """libyaml's parser with the YAML 1.2 core schema's scalars; records duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str, int, int]] = []  # (id of mapping, key, line, column)


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^<<$", "<"),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:  # before merge keys (<<) are flattened: those may repeat keys
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            key = (key_node.tag, key_node.value)
            if key in seen:
                mark = key_node.start_mark
                loader.duplicates.append((id(data), key_node.value, mark.line + 1, mark.column + 1))
            seen.add(key)
    data.update(loader.construct_mapping(node))


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


# -- the loaded document -------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedSpec:
    """A parsed document and how to name places in it."""

    label: str  # the path as the user gave it, for messages
    text: str
    document: Mapping[str, Any]
    version: str
    is_json: bool = False
    path: Path | None = None  # where the file is (external $refs are relative to it)
    parse_problems: tuple[SpecProblem, ...] = field(default=())  # e.g. duplicate keys

    @cached_property
    def _locator(self) -> _Locator:
        return _Locator(self.text, self.is_json)

    def locate(self, pointer: str) -> tuple[int | None, int | None]:
        return self._locator.locate(pointer)

    def problem(self, pointer: str, message: str, hint: str = "", severity: Severity = Severity.ERROR) -> SpecProblem:
        line, column = self.locate(pointer)
        return SpecProblem(self.label, pointer, message, hint, line, column, severity)

    def warning(self, pointer: str, message: str, hint: str = "") -> SpecProblem:
        return self.problem(pointer, message, hint, Severity.WARNING)

    def fail(self, problems: Iterable[tuple[str, str, str]]) -> SpecError:
        return SpecError([self.problem(*p) for p in problems])


def load_spec(path: Path, label: str | None = None) -> LoadedSpec:
    label = label or str(path)

    def fail(message: str, hint: str, line: int | None = None, column: int | None = None, where: str = "#") -> SpecError:
        return SpecError([SpecProblem(label, where, message, hint, line, column)])

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail("file not found", "check --spec or [tool.sdkforge] spec") from None
    except IsADirectoryError:
        raise fail("this is a directory, not a file", "point --spec at the OpenAPI YAML or JSON file") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}", "check the path and its permissions") from None
    try:
        text = data.decode("utf-8-sig")  # a UTF-8 byte order mark is allowed and dropped
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
                   "save the file as UTF-8", line, column) from None
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise fail("the file is empty", "write an OpenAPI 3.0 or 3.1 document into it", 1, 1)
    is_json = path.suffix.lower() == ".json" or text.lstrip().startswith("{")
    document, duplicates = _parse_json(text, fail) if is_json else _parse_yaml(text, fail)
    if document is None:
        raise fail("the file is empty", "write an OpenAPI 3.0 or 3.1 document into it", 1, 1)
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else f"a single {type(document).__name__} value"
        raise fail(f"the document is {kind}, not a mapping", "an OpenAPI document is a YAML or JSON object with 'openapi', 'info' and 'paths'", 1, 1)
    version = _check_version(document, text, is_json, label)
    _check_size(document, text, is_json, label)
    spec = LoadedSpec(label, text, document, version, is_json, path)
    if duplicates:
        where = _pointers_of_mappings(document, {d[0] for d in duplicates})
        problems = tuple(
            SpecProblem(label, where.get(mapping_id, "#") + "/" + escape_pointer_token(key),
                        f"duplicate key {key!r}: the later value would silently replace the earlier one",
                        "remove or rename one of them", line, column)
            for mapping_id, key, line, column in duplicates
        )
        spec = LoadedSpec(label, text, document, version, is_json, path, problems)
    return spec


def _parse_json(text: str, fail: Any) -> tuple[Any, list[tuple[int, str, int, int]]]:
    duplicates: list[tuple[int, str, int, int]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) != len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    duplicates.append((id(result), key, 0, 0))
                seen.add(key)
        return result

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        document = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON: {exc.msg}", "fix the syntax", exc.lineno, exc.colno) from None
    except ValueError as exc:
        raise fail(f"not valid JSON: {exc}", "write numbers as numbers: JSON has no NaN or Infinity") from None
    except RecursionError:
        raise fail(f"nested more than {MAX_DEPTH} levels deep (too deep to read)", "move nested schemas into components/schemas and $ref them", 1, 1) from None
    if duplicates:  # JSON gives no positions to the hook: find each key's line in the text
        locator = _Locator(text, True)
        where = _pointers_of_mappings(document, {d[0] for d in duplicates})
        placed = []
        seen: dict[tuple[int, str], int] = {}
        for mapping_id, key, _, _ in duplicates:
            nth = seen[(mapping_id, key)] = seen.get((mapping_id, key), 0) + 1
            line, column = locator.locate_duplicate(where.get(mapping_id, "#"), key, nth)
            placed.append((mapping_id, key, line or 0, column or 0))
        duplicates = placed
    return document, duplicates


def _parse_yaml(text: str, fail: Any) -> tuple[Any, list[tuple[int, str, int, int]]]:
    loader = _Loader(text)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        hint = "fix the syntax"
        if "\t" in reason or (mark is not None and _char_at(text, mark.line, mark.column) == "\t"):
            reason, hint = "a tab character where YAML allows only spaces", "indent with spaces, not tabs"
        elif "constructor for the tag" in reason:
            tag = getattr(exc, "problem", "") or ""
            reason, hint = f"unsupported YAML tag: {tag.split('tag ')[-1]}", "OpenAPI documents use plain YAML: remove the tag"
        elif "maximum nesting depth" in reason:
            raise fail(f"nested more than {MAX_DEPTH} levels deep (too deep to read)",
                       "move nested schemas into components/schemas and $ref them", line, column) from None
        raise fail(f"not valid YAML: {reason}", hint, line, column) from None
    except RecursionError:
        raise fail(f"nested more than {MAX_DEPTH} levels deep (too deep to read)", "move nested schemas into components/schemas and $ref them", 1, 1) from None
    finally:
        loader.dispose()
    return document, loader.duplicates


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return ""


def _check_version(document: Mapping[str, Any], text: str, is_json: bool, label: str) -> str:
    def fail(where: str, message: str, hint: str) -> SpecError:
        line, column = _Locator(text, is_json).locate(where) if where != "#" else (1, 1)
        return SpecError([SpecProblem(label, where, message, hint, line, column)])

    if "swagger" in document:
        raise fail("#/swagger", f"this is a Swagger {_short(document['swagger'])} document, not OpenAPI 3",
                   "convert it to OpenAPI 3 first, e.g. with swagger2openapi or editor.swagger.io")
    if "openapi" not in document:
        raise fail("#", "no 'openapi' field: this is not an OpenAPI document",
                   "add 'openapi: 3.1.0' and the rest of an OpenAPI description")
    version = document["openapi"]
    if not isinstance(version, str):
        raise fail("#/openapi", f"the OpenAPI version must be a string, not {_short(version)}",
                   "quote it: openapi: \"3.1.0\"")
    if re.fullmatch(r"3\.[012]", version):
        raise fail("#/openapi", f"incomplete OpenAPI version {_short(version)}", f"write the full version, e.g. '{version}.0'")
    if not version.startswith(_SUPPORTED) or not re.fullmatch(r"3\.[012]\.\d+(?:-[0-9A-Za-z.-]+)?", version):
        raise fail("#/openapi", f"unsupported OpenAPI version {_short(version)}",
                   "sdkforge reads OpenAPI 3.0.x, 3.1.x and 3.2.x")
    return version


def _check_size(document: Any, text: str, is_json: bool, label: str) -> None:
    """Refuse a document nested deeper than ``MAX_DEPTH`` or with more than ``MAX_NODES``
    values (YAML aliases expanded, so an alias bomb is refused, not expanded). Every later
    stage may then walk the document recursively, in bounded time."""
    count = 0
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(document, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise SpecError([SpecProblem(label, "#", f"the document has more than {MAX_NODES:,} values (YAML aliases counted where they are used)",
                                         "split the API, or avoid aliases that repeat large parts", 1, 1)])
        if depth > MAX_DEPTH:
            where = "#/" + "/".join(escape_pointer_token(str(t)) for t in path)
            line, column = _Locator(text, is_json).locate(where)
            raise SpecError([SpecProblem(label, where, f"nested more than {MAX_DEPTH} levels deep",
                                         "move nested schemas into components/schemas and $ref them", line, column)])
        if isinstance(node, dict):
            stack.extend((value, depth + 1, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, depth + 1, (*path, index)) for index, value in enumerate(node))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pointers_of_mappings(document: Any, wanted: set[int]) -> dict[int, str]:
    """JSON pointers of the mappings whose ids are wanted (first place each is found)."""
    found: dict[int, str] = {}
    stack: list[tuple[Any, str]] = [(document, "#")]
    visited: set[int] = set()
    while stack and len(found) < len(wanted):
        node, where = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, dict):
            if id(node) in wanted:
                found.setdefault(id(node), where)
            stack.extend((value, f"{where}/{escape_pointer_token(str(key))}") for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{where}/{index}") for index, value in enumerate(node))
    return found


# -- positions -----------------------------------------------------------------------------


def locate(text: str, pointer: str, is_json: bool | None = None) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the value a JSON pointer names, or of its nearest parent.

    Builds a position index for one lookup; ``LoadedSpec.locate`` keeps one per run.
    """
    if is_json is None:
        is_json = text.lstrip("\ufeff \t\r\n").startswith("{")
    return _Locator(text, is_json).locate(pointer)


def split_pointer(pointer: str) -> list[str]:
    body = pointer[2:] if pointer.startswith("#/") else ""
    return [t.replace("~1", "/").replace("~0", "~") for t in body.split("/")] if body else []


class _Locator:
    """Positions of the places in one file, found from JSON pointers."""

    def __init__(self, text: str, is_json: bool) -> None:
        self.text = text
        self.is_json = is_json

    def locate(self, pointer: str) -> tuple[int | None, int | None]:
        tokens = split_pointer(pointer)
        if self.is_json:
            index = self._json_index
            for length in range(len(tokens), -1, -1):  # the place, else its nearest parent
                offset = index.get(tuple(tokens[:length]))
                if offset is not None:
                    return self._line_column(offset)
            return None, None
        return self._locate_yaml(tokens)

    def locate_duplicate(self, mapping_pointer: str, key: str, nth: int = 1) -> tuple[int | None, int | None]:
        """Where a key occurs for the ``nth`` time after its first (JSON only)."""
        offsets = self._json_duplicate_keys.get((*split_pointer(mapping_pointer), key), [])
        return self._line_column(offsets[nth]) if len(offsets) > nth else (None, None)

    # JSON: one scan of the text, recording where every key and array item starts.

    _TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)

    @cached_property
    def _json_scan(self) -> tuple[dict[tuple[str, ...], int], dict[tuple[str, ...], list[int]]]:
        index: dict[tuple[str, ...], int] = {(): 0}
        keys: dict[tuple[str, ...], list[int]] = {}
        # Each frame: [path, is_object, pending key, next array index, expecting a key]
        stack: list[list[Any]] = []
        path: tuple[str, ...] = ()
        for match in self._TOKEN.finditer(self.text):
            token = match.group()
            frame = stack[-1] if stack else None
            if token in ",:":
                if frame is not None and token == "," and frame[1]:
                    frame[4] = True
                continue
            if token in "]}":
                if stack:
                    stack.pop()
                continue
            if frame is not None and frame[1] and frame[4]:  # an object key
                try:
                    key = json.loads(token)
                except ValueError:
                    return index, keys  # not JSON after all: keep what was found
                frame[2] = str(key)
                frame[4] = False
                where = (*frame[0], frame[2])
                index[where] = match.start()
                keys.setdefault(where, []).append(match.start())
                continue
            if frame is None:
                path = ()
            elif frame[1]:
                path = (*frame[0], frame[2])
            else:
                path = (*frame[0], str(frame[3]))
                index[path] = match.start()
                frame[3] += 1
            if token == "{":
                stack.append([path, True, "", 0, True])
            elif token == "[":
                stack.append([path, False, "", 0, False])
        return index, keys

    @property
    def _json_index(self) -> dict[tuple[str, ...], int]:
        return self._json_scan[0]

    @property
    def _json_duplicate_keys(self) -> dict[tuple[str, ...], list[int]]:
        return self._json_scan[1]

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0] + [m.end() for m in re.finditer("\n", self.text)]

    def _line_column(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    # YAML: the node tree, composed once; each mapping's keys indexed on first use.

    @cached_property
    def _yaml_root(self) -> yaml.Node | None:
        try:
            return yaml.compose(self.text, Loader=_CSafeLoader)
        except (yaml.YAMLError, RecursionError):
            return None

    @cached_property
    def _yaml_keys(self) -> dict[int, dict[str, tuple[yaml.Node, yaml.Node]]]:
        return {}

    def _locate_yaml(self, tokens: list[str]) -> tuple[int | None, int | None]:
        node = self._yaml_root
        if node is None:
            return None, None
        best: yaml.Node = node
        for token in tokens:
            child = None
            if isinstance(node, yaml.MappingNode):
                keys = self._yaml_keys.get(id(node))
                if keys is None:
                    keys = self._yaml_keys[id(node)] = {}
                    for key, value in node.value:
                        if isinstance(key, yaml.ScalarNode):
                            keys[key.value] = (key, value)  # the last of repeated keys wins, as in loading
                if token in keys:
                    best, child = keys[token]
            elif isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
                child = best = node.value[int(token)]
            if child is None:
                break
            node = child
        return best.start_mark.line + 1, best.start_mark.column + 1
