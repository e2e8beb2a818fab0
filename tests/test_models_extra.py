"""Every model keeps the fields a response carries beyond the spec, closed schemas
(``additionalProperties: false``) included, and accepts its fields by Python name or by alias.
The classes say nothing of it: they inherit it from the runtime's ``APIModel``."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from generator.config import Config
from generator.pipeline import generate
from generator.write import write_tree

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Closed", "version": "1"},
    "paths": {"/things/{id}": {"get": {
        "operationId": "getThing",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Thing"}}}}},
    }}},
    "components": {"schemas": {
        "Thing": {"type": "object", "additionalProperties": False, "required": ["id"], "properties": {
            "id": {"type": "string"},
            "display-name": {"type": "string"},
            "part": {"type": "object", "additionalProperties": False, "properties": {"size": {"type": "integer"}}},
        }},
    }},
}


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("closed")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(SPEC), encoding="utf-8")
    out = root / "out"
    write_tree(out, generate(spec, Config(spec=spec.name, root=str(root), package="closed")))
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("closed.types")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "closed" or m.startswith("closed.")]:
            del sys.modules[name]


def test_closed_schemas_keep_unknown_fields(closed: ModuleType) -> None:
    thing = closed.Thing.model_validate({"id": "t1", "colour": "red", "part": {"size": 3, "weight": 9}})
    assert thing.model_extra == {"colour": "red"}
    assert thing.part.size == 3 and thing.part.model_extra == {"weight": 9}
    source = Path(closed.__file__).with_name("_models.py").read_text(encoding="utf-8")
    assert "model_config" not in source and "forbid" not in source


def test_fields_are_accepted_by_alias_and_by_name(closed: ModuleType) -> None:
    by_alias = closed.Thing.model_validate({"id": "t1", "display-name": "One"})
    by_name = closed.Thing(id="t1", display_name="One")
    assert by_alias.display_name == by_name.display_name == "One"
