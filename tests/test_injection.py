"""Nothing from a spec becomes code.

Text from the spec (names, descriptions, examples, defaults, enum values, the title, the server
URL) reaches the output only as string literals, docstrings and mangled identifiers. For
hostile text (quotes, triple quotes, backslashes, ``{{ }}``/``{% %}``, newlines, NUL and other
control characters, right-to-left marks, non-ASCII letters, keywords, builtins, dunder
names, 10,000 characters) the generated package

- compiles, and its AST has exactly the shape of the package made from the same spec with
  plain text in every slot (constants, identifiers and docstrings aside): no statement, call,
  operator or argument more or less;
- carries the text faithfully: docstrings hold the descriptions, field aliases and query keys
  the names, ``Literal``s the enum values, defaults and examples their values;
- works: the client imports, sends the hostile names over the wire to a real server on
  127.0.0.1, and parses the hostile properties back.

One spec with a fixed list of hostile strings is checked in full; a hypothesis property test
drives arbitrary text through every slot of a smaller spec (``generator.pipeline.generate``).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import itertools
import json
import keyword
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from generator.config import Config
from generator.pipeline import generate
from tests.support.server import Reply, ScriptedServer

HOSTILE = [
    'quote " and \' and """ and \'\'\' ends with "',
    "back\\slash \\n \\x00 \\u0041 \\N{BULLET} ends with \\",
    "{{ jinja }} {% if x %}{% endif %} {# c #} {{",
    "line1\nline2\r\nline3\rline4\n",
    "nul \x00 bel \x07 esc \x1b[31m del \x7f",
    "rtl \u202e override \u2066 isolate \u200f mark \u061c",
    "unicode é ß 中文 🙂 ﬁ Ω",
    "class",
    "None",
    "list",
    "str",
    "print",
    "self",
    "__init__",
    "__class__",
    "model_config",
    "request",
    "with_raw_response",
    "format_path",
    "result",
    "x" * 10_000,
    '"); import os; os.system("echo pwned"); ("',
    "'''\nimport os\n'''",
    "\u2028 para \u2029 sep \x85 nel \x0b vt \x0c ff",
    "",
    "  leading and trailing spaces  ",
]

Slot = Callable[[str, int], str]  # (slot name, index) -> the text for that slot


def build_spec(text: Slot, count: int) -> dict[str, Any]:
    """A spec with ``count`` resources; every slot's text comes from ``text(slot, index)``."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for i in range(count):
        prop = text("property", i)
        schema_name = text("schema", i)
        paths[f"/r{i}/{{id}}"] = {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": text("path description", i)}],
            "get": {
                "operationId": text("operationId", i),
                "summary": text("summary", i),
                "description": text("description", i),
                "tags": [text("tag", i)],
                "parameters": [{
                    "name": text("query", i), "in": "query", "description": text("query description", i),
                    "schema": {"type": "string", "enum": [text("query enum", i), f"other{i}"], "default": text("query enum", i)},
                }],
                "responses": {"200": {"description": text("response description", i), "content": {"application/json": {
                    "schema": {"type": "array", "items": {"$ref": f"#/components/schemas/S{i}"}}}}}},
            },
            "post": {
                "operationId": f"create{i}",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/S{i}"}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/" + schema_name.replace("~", "~0").replace("/", "~1")}}}}},
            },
        }
        schemas[f"S{i}"] = {
            "type": "object", "title": text("title", i), "description": text("schema description", i),
            "properties": {
                prop: {"type": "string", "description": text("property description", i), "default": text("enum", i),
                       "examples": [text("example", i)], "enum": [text("enum", i), f"v{i}"]},
                "plain": {"type": "integer"},
            },
        }
        schemas[schema_name] = {"type": "object", "description": text("schema description", i),
                                "properties": {"a": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": text("api title", 0), "version": text("version", 0), "description": text("api description", 0)},
        "servers": [{"url": "https://api.example.com/" + text("url", 0) + "{v}",
                     "variables": {"v": {"default": text("url variable", 0)}}}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def clean(slot: str, index: int) -> str:
    """Plain text for a slot, of the same kind (names that need an alias stay names that do)."""
    return {"property": f"clean-prop-{index}", "schema": f"Clean{index}", "query": f"clean-query-{index}",
            "url": "v1/", "url variable": "x"}.get(slot, f"clean {slot} {index}")


def hostile_slot(hostile: list[str]) -> Slot:
    def text(slot: str, index: int) -> str:
        value = hostile[index]
        if slot == "url":
            return urllib.parse.quote(value[:200], safe="/")  # braces would be server variables
        if slot == "schema":
            return value if 0 < len(value) <= 100 else f"Long{index}"  # longer names are refused (file names)
        if slot in ("property", "query", "enum", "query enum", "operationId", "tag") and not value:
            return f"empty{index}"  # one empty name per kind would collide with the fixed ones
        if slot in ("api title", "version", "api description", "url variable"):
            return "|".join(hostile[:8])
        return value
    return text


def generated(spec: dict[str, Any], tmp_path: Path, package: str) -> dict[PurePosixPath, str]:
    path = tmp_path / f"{package}.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return generate(path, Config(spec=path.name, root=str(tmp_path), out="out", package=package))


# -- the shape of the code -------------------------------------------------------------------


def shape(node: Any) -> Any:
    """The AST without what spec text may legitimately change: constants, identifiers,
    docstrings, keyword arguments whose value is a constant (``alias="..."``), and the
    ``Annotated[T, Field(alias=...)]`` wrapper an alias needs."""
    if isinstance(node, list):
        return tuple(s for s in (shape(item) for item in node) if s is not None)
    if not isinstance(node, ast.AST):
        return None
    if isinstance(node, ast.Constant):
        return "C"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return None  # a docstring
    if isinstance(node, ast.keyword) and isinstance(node.value, (ast.Constant, ast.List)) and all(
        isinstance(e, ast.Constant) for e in getattr(node.value, "elts", [node.value])
    ):
        return None
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Annotated"
            and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 2 and isinstance(node.slice.elts[1], ast.Call)
            and not node.slice.elts[1].args and shape(node.slice.elts[1].keywords) == ()):
        return shape(node.slice.elts[0])
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
        return ("Literal",)  # its constants; how many is checked by the faithfulness checks
    fields = tuple((name, shape(value)) for name, value in ast.iter_fields(node) if not isinstance(value, str))
    return (type(node).__name__, fields)


def package_shapes(files: dict[PurePosixPath, str]) -> list[Any]:
    shapes = []
    for path, text in files.items():
        if path.suffix == ".py" and "_runtime" not in path.parts:
            shapes.append(repr(shape(ast.parse(text, str(path)).body)))
    return sorted(shapes)


def assert_same_shape(files: dict[PurePosixPath, str], baseline: dict[PurePosixPath, str]) -> None:
    got, want = package_shapes(files), package_shapes(baseline)
    assert len(got) == len(want), (len(got), len(want))
    differing = [(g, w) for g, w in zip(got, want) if g != w]
    assert not differing, f"{len(differing)} module(s) differ in shape from the clean spec's, e.g.\n{differing[0][0][:2000]}\n---\n{differing[0][1][:2000]}"


# -- faithfulness ----------------------------------------------------------------------------


def squash(text: str) -> str:
    """Text with every run of whitespace (line breaks and indentation included) as one space."""
    return " ".join(text.split())


def constants(files: dict[PurePosixPath, str]) -> set[Any]:
    found: set[Any] = set()
    for path, text in files.items():
        if path.suffix == ".py" and "_runtime" not in path.parts:
            found |= {n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return found


def docstrings(files: dict[PurePosixPath, str]) -> list[str]:
    found = []
    for path, text in files.items():
        if path.suffix == ".py" and "_runtime" not in path.parts:
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.extend(squash(d) for d in [ast.get_docstring(node, clean=False)] if d)
                body = getattr(node, "body", None)
                if isinstance(node, ast.ClassDef) and body:  # attribute docstrings (datamodel-code-generator's)
                    found.extend(squash(s.value.value) for s in body if isinstance(s, ast.Expr)
                                 and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
    return found


def assert_faithful(files: dict[PurePosixPath, str], text: Slot, count: int) -> None:
    literals = constants(files)
    docs = "\n".join(docstrings(files))
    for i in range(count):
        for slot in ("property", "query", "enum", "query enum", "example"):
            assert text(slot, i) in literals, f"{slot} {text(slot, i)[:80]!r} is not carried as a string literal"
        for slot in ("summary", "description", "query description", "path description", "property description",
                     "schema description"):
            if squash(text(slot, i)):
                assert squash(text(slot, i)) in docs, f"{slot} {text(slot, i)[:80]!r} is not in a docstring"
    assert "https://api.example.com/" + text("url", 0) + text("url variable", 0) in literals
    assert text("version", 0) in literals
    if squash(text("api title", 0)):
        assert squash(text("api title", 0)) in docs


def _dunders(files: dict[PurePosixPath, str]) -> set[str]:
    return {node.name for path, text in files.items() if path.suffix == ".py"
            for node in ast.walk(ast.parse(text)) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.name.startswith("__")}


def assert_names_are_safe(files: dict[PurePosixPath, str], baseline: dict[PurePosixPath, str]) -> None:
    """Identifiers made from spec text are plain ASCII, never dunders the templates do not
    define themselves, and never keywords or builtins."""
    assert _dunders(files) <= _dunders(baseline)
    for path, text in files.items():
        if path.suffix != ".py" or "_runtime" in path.parts:
            continue
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.name.isidentifier() and node.name.isascii() and not keyword.iskeyword(node.name)
                for arg in node.args.args + node.args.kwonlyargs:
                    assert arg.arg.isascii() and not (arg.arg.startswith("__")), arg.arg
            if isinstance(node, ast.ClassDef):
                assert node.name.isidentifier() and not hasattr(builtins, node.name), node.name
                assert len(node.name) <= 120, node.name[:40]
        assert all(len(part) <= 120 for part in path.parts), path


# -- running the generated client --------------------------------------------------------------


_counter = itertools.count()


def imported(files: dict[PurePosixPath, str], tmp_path: Path, package: str) -> Any:
    root = tmp_path / "site"
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(root))


def forget(package: str) -> None:
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


def resource_methods(client: Any) -> Iterator[tuple[str, Any]]:
    for name in dir(type(client)):
        if isinstance(getattr(type(client), name, None), property) and not name.startswith("_"):
            resource = getattr(client, name)
            for method_name, method in vars(type(resource)).items():
                if callable(method) and not method_name.startswith("_"):
                    yield f"{name}.{method_name}", getattr(resource, method_name)


def exercise(package: Any, server: ScriptedServer, text: Slot, count: int) -> None:
    """Call every GET with the hostile query value and read back hostile properties."""
    client = package.Client(base_url=server.base_url, max_retries=0)
    try:
        assert callable(client.request) and client.request.__func__ is type(client).__mro__[1].request
        seen_queries = set()
        for name, method in resource_methods(client):
            if name.rsplit(".", 1)[1].startswith("create"):
                continue
            index = int(name.split(".")[0].lstrip("r").rstrip("_") or 0) if name.startswith("r") else None
            if index is None:
                continue
            server.reply(Reply(body=[{text("property", index): text("enum", index), "plain": 1}]))
            value = text("query enum", index)
            items = method(id="a/b c", **{_query_argument(method): value})
            request = server.requests[-1]
            path, _, query = request.path.partition("?")
            assert path == f"/r{index}/a%2Fb%20c"
            assert urllib.parse.parse_qs(query, keep_blank_values=True) == {text("query", index): [value]}
            assert items[0].model_dump(by_alias=True, exclude_unset=True) == {text("property", index): text("enum", index), "plain": 1}
            seen_queries.add(index)
        assert seen_queries == set(range(count))
    finally:
        client.close()


def _query_argument(method: Any) -> str:
    import inspect

    parameters = [p for p in inspect.signature(method).parameters.values() if p.kind is p.KEYWORD_ONLY]
    return parameters[0].name  # the one query parameter comes first (extra_* follow)


# -- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[PurePosixPath, str]:
    return generated(build_spec(clean, len(HOSTILE)), tmp_path_factory.mktemp("clean"), "inj")


def test_hostile_text_in_every_slot(baseline: dict[PurePosixPath, str], tmp_path: Path, server: ScriptedServer) -> None:
    text = hostile_slot(HOSTILE)
    files = generated(build_spec(text, len(HOSTILE)), tmp_path, "inj")
    for path, source in files.items():
        if path.suffix == ".py":
            compile(source, str(path), "exec")
    assert_same_shape(files, baseline)
    assert_faithful(files, text, len(HOSTILE))
    assert_names_are_safe(files, baseline)
    for path, source in files.items():  # no control or bidirectional character stands raw in code (Trojan Source)
        if path.suffix == ".py":
            assert all(ch.isprintable() or ch in "\n\t" for ch in source), (path, [ch for ch in source if not ch.isprintable() and ch not in "\n\t"][:5])
    package = imported(files, tmp_path, "inj")
    try:
        exercise(package, server, text, len(HOSTILE))
    finally:
        forget("inj")


_SPECIAL = st.sampled_from(['"', "'", '"""', "\\", "{{", "}}", "{%", "%}", "\n", "\r", "\x00", "\x07", "\u202e",
                            "é", "中", "class", "None", "__init__", "model_config", "list", "\t", " ", "#", "~", "/",
                            "%", "$ref", "\u2028", "\x85", "self"])
_TEXT = st.lists(st.one_of(_SPECIAL, st.text(max_size=6)), max_size=6).map("".join)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("SDKFORGE_FUZZ_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(values=st.lists(_TEXT, min_size=14, max_size=14))
def test_arbitrary_text_in_every_slot(values: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    slots = ["property", "schema", "query", "enum", "query enum", "operationId", "tag", "summary", "description",
             "query description", "property description", "schema description", "example", "api title"]
    chosen = dict(zip(slots, values))
    # Names must differ from the fixed ones next to them (a property 'plain', an enum value 'v0', ...).
    assume(chosen["property"] not in ("plain",) and chosen["enum"] != "v0" and chosen["query enum"] != "other0")
    assume(chosen["schema"] not in ("S0",) and chosen["operationId"] != "create0" and chosen["query"] not in ("id", ""))

    def text(slot: str, index: int) -> str:
        value = chosen.get(slot, chosen["description"])
        if slot == "url":
            return urllib.parse.quote(value, safe="/")
        if slot == "version":
            return "v " + chosen["description"]  # never an HTTP token, as in the clean spec (see Api.user_agent_product)
        if slot in ("api description", "url variable", "path description", "response description", "title"):
            return chosen["description"]
        if slot == "schema" and not value:
            return "Empty"
        return value

    tmp_path = tmp_path_factory.mktemp("fuzz")
    package = f"fz{next(_counter)}"
    files = generated(build_spec(text, 1), tmp_path, package)
    for path, source in files.items():
        if path.suffix == ".py":
            compile(source, str(path), "exec")
    baseline_small = _baseline_small(tmp_path_factory)
    assert_same_shape(files, baseline_small)
    assert_faithful(files, text, 1)
    assert_names_are_safe(files, baseline_small)
    module = imported(files, tmp_path, package)
    try:
        model = getattr(importlib.import_module(f"{package}.types"), "S0")
        parsed = model.model_validate({chosen["property"]: chosen["enum"], "plain": 2})
        assert parsed.model_dump(by_alias=True, exclude_unset=True) == {chosen["property"]: chosen["enum"], "plain": 2}
        assert module.Client(base_url="http://127.0.0.1:9").request  # the client's own method, not a resource
    finally:
        forget(package)


_BASELINES: dict[str, dict[PurePosixPath, str]] = {}


def _baseline_small(tmp_path_factory: pytest.TempPathFactory) -> dict[PurePosixPath, str]:
    if "small" not in _BASELINES:
        _BASELINES["small"] = generated(build_spec(clean, 1), tmp_path_factory.mktemp("clean_small"), "fzclean")
    return _BASELINES["small"]
