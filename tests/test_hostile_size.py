"""Hostile sizes: generated in bounded time and memory, or refused with a clear error; never a
RecursionError, never an unbounded hang.

- schemas nested 1,000 levels deep inline: refused when read (``load.MAX_DEPTH``), YAML and
  JSON alike, and so is a 100,000-deep bracket bomb; nesting up to the limit generates;
- schemas nested 1,000 levels deep through ``$ref`` (1,000 models, each holding the next):
  generated; 1,000 schemas that are only a ``$ref`` to the next: refused;
- 10,000 enum values: generated, all of them in the ``Literal``;
- 5,000 operations: lowered, modelled and rendered in seconds (black, which formats the 24 MB
  of source afterwards, takes minutes on a cold cache and is not measured here);
- 5,000 problems in one document: all reported, in well under a second each.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from generator.config import Config
from generator.errors import SpecError
from generator.load import MAX_DEPTH, load_spec
from generator.pipeline import generate
from generator.validate import validate

ROOT = Path(__file__).resolve().parent.parent
BASE: dict[str, Any] = {"openapi": "3.1.0", "info": {"title": "Size", "version": "1.0.0"}}


def write(tmp_path: Path, document: Any, suffix: str = ".json") -> Path:
    path = tmp_path / f"openapi{suffix}"
    text = json.dumps(document) if suffix == ".json" else yaml.safe_dump(document, sort_keys=False, width=10**9)
    path.write_text(text, encoding="utf-8")
    return path


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"child": schema}}
    return schema


def one_operation(schema_ref: str) -> dict[str, Any]:
    return {"/items": {"get": {"operationId": "getItems", "responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"$ref": schema_ref}}}}}}}}


def generated(path: Path) -> dict[PurePosixPath, str]:
    files = generate(path, Config(spec=path.name, root=str(path.parent), package="sized"))
    for name, text in files.items():
        if name.suffix == ".py":
            compile(text, str(name), "exec")
    return files


# -- nesting -----------------------------------------------------------------------------------


def _deep_json_text(levels: int) -> str:
    # Written by hand: json.dumps itself recurses.
    prefix = '{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "components": {"schemas": {"Deep": '
    return prefix + '{"type": "object", "properties": {"child": ' * levels + '{"type": "string"}' + "}}" * levels + "}}}"


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_schemas_nested_1000_deep_are_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"openapi{suffix}"
    if suffix == ".json":
        path.write_text(_deep_json_text(1000), encoding="utf-8")
    else:  # YAML flow style (block style would need a million spaces)
        path.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    Deep: "
                        + "{type: object, properties: {child: " * 1000 + "{type: string}" + "}}" * 1000 + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(SpecError) as caught:
        load_spec(path, label=path.name)
    assert time.monotonic() - started < 5
    (problem,) = caught.value.problems
    assert "nested" in problem.message and "deep" in problem.message
    assert problem.hint == "move nested schemas into components/schemas and $ref them"
    assert problem.line is not None


def test_a_bracket_bomb_is_refused(tmp_path: Path) -> None:
    for suffix, text in ((".json", "[" * 100_000 + "]" * 100_000), (".yaml", "x: " + "[" * 100_000 + "]" * 100_000)):
        path = tmp_path / f"bomb{suffix}"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SpecError) as caught:
            load_spec(path)
        assert "deep" in caught.value.problems[0].message or "nesting" in caught.value.problems[0].message


def test_the_command_refuses_deep_nesting_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    path.write_text(_deep_json_text(1000), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "generator", "generate", "--spec", "openapi.json", "--out", "out",
                             "--package", "p"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert f"nested more than {MAX_DEPTH} levels deep" in result.stderr
    assert not (tmp_path / "out").exists()


def test_nesting_up_to_the_limit_generates(tmp_path: Path) -> None:
    # #/paths/~1items/get/responses/200/content/application~1json/schema = 8 levels, 2 per schema
    levels = (MAX_DEPTH - 9) // 2
    document = {**BASE, "paths": {"/items": {"get": {"operationId": "getItems", "responses": {"200": {
        "description": "ok", "content": {"application/json": {"schema": nested(levels)}}}}}}}}
    files = generated(write(tmp_path, document))
    assert any("child" in text for path, text in files.items() if "types" in path.parts)


@pytest.mark.slow
def test_a_chain_of_1000_models_generates(tmp_path: Path) -> None:
    schemas = {f"Level{i}": {"type": "object", "properties": {"name": {"type": "string"},
               **({"child": {"$ref": f"#/components/schemas/Level{i + 1}"}} if i < 999 else {})}} for i in range(1000)}
    document = {**BASE, "paths": one_operation("#/components/schemas/Level0"), "components": {"schemas": schemas}}
    started = time.monotonic()
    files = generated(write(tmp_path, document))
    assert time.monotonic() - started < 150
    classes = {node.name for path, text in files.items() if "types" in path.parts and path.suffix == ".py"
               for node in ast.walk(ast.parse(text)) if isinstance(node, ast.ClassDef)}
    assert {f"Level{i}" for i in range(1000)} <= classes


def test_a_chain_of_1000_bare_refs_is_refused(tmp_path: Path) -> None:
    schemas: dict[str, Any] = {f"Alias{i}": {"$ref": f"#/components/schemas/Alias{i + 1}"} for i in range(1000)}
    schemas["Alias1000"] = {"type": "string"}
    document = {**BASE, "paths": one_operation("#/components/schemas/Alias0"), "components": {"schemas": schemas}}
    with pytest.raises(SpecError) as caught:
        validate(load_spec(write(tmp_path, document)))
    assert any("a chain of more than" in p.message for p in caught.value.errors)


# -- breadth -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_10000_enum_values(tmp_path: Path) -> None:
    values = [f"value_{i}" for i in range(10_000)]
    document = {**BASE, "paths": one_operation("#/components/schemas/Holder"), "components": {"schemas": {
        "Big": {"type": "string", "enum": values},
        "Holder": {"type": "object", "properties": {"big": {"$ref": "#/components/schemas/Big"}}},
    }}}
    started = time.monotonic()
    files = generated(write(tmp_path, document))
    assert time.monotonic() - started < 120
    literals = set()
    for path, text in files.items():
        if "types" in path.parts:
            literals |= {line.strip().strip(",").strip('"') for line in text.splitlines() if line.strip().startswith('"value_')}
    assert literals == set(values)


def test_5000_problems_are_all_reported_quickly(tmp_path: Path) -> None:
    schemas = {f"S{i}": {"type": "strng"} for i in range(5000)}
    for suffix in (".json", ".yaml"):
        path = write(tmp_path, {**BASE, "paths": {}, "components": {"schemas": schemas}}, suffix)
        started = time.monotonic()
        with pytest.raises(SpecError) as caught:
            validate(load_spec(path))
        assert time.monotonic() - started < 15  # the position index is built once, not per problem
        assert len(caught.value.errors) == 5000
        assert all(p.line is not None for p in caught.value.errors)


_WITHOUT_BLACK = """
import json, resource, sys, time
from pathlib import Path
import generator.pipeline as pipeline
from generator.config import Config
pipeline.format_files = lambda files, *rest: dict(files)  # black is linear and measured elsewhere
pipeline.Formatter.prefetch = lambda self, files, *rest: None
spec = Path(sys.argv[1])
started = time.monotonic()
files = pipeline.generate(spec, Config(spec=spec.name, root=str(spec.parent), package="wide"))
print(json.dumps({"seconds": time.monotonic() - started, "files": len(files),
                  "bytes": sum(len(text) for text in files.values()),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@pytest.mark.slow
def test_5000_operations(tmp_path: Path) -> None:
    paths = {
        f"/group{i % 100}/op{i}/{{id}}": {"get": {
            "operationId": f"operation{i}", "tags": [f"group{i % 100}"],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
        }}
        for i in range(5000)
    }
    document = {**BASE, "paths": paths, "components": {"schemas": {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}}}}
    path = write(tmp_path, document)
    result = subprocess.run([sys.executable, "-c", _WITHOUT_BLACK, str(path)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["seconds"] < 60, figures  # 3 s here; it was 39 s while resources were nested quadratically
    assert figures["max_rss_mb"] < 1024, figures
    assert figures["files"] > 100
