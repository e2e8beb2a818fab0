"""Stage 3: pydantic models through datamodel-code-generator, with the class names the IR chose.

The IR names every component schema; those names go to datamodel-code-generator as its
``model_name_map`` and are checked against the classes it actually wrote, so the client and
the models can never disagree on a name.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from .errors import SpecError, SpecProblem
from .ir import Api
from .lower import nullable_object
from .naming import escape_ref_token

# Every option spelled out: the golden files depend on each of them.
DATAMODEL_OPTIONS: Mapping[str, Any] = {
    "output_model_type": "pydantic_v2.BaseModel",
    "target_python_version": "3.10",
    "use_annotated": True,
    "field_constraints": True,
    "use_union_operator": True,
    "use_standard_collections": True,
    "enum_field_as_literal": "all",
    "extra_fields": "allow",  # responses may carry fields the spec does not know yet
    "disable_timestamp": True,
    "use_double_quotes": True,
    "use_schema_description": True,
    "use_field_description": True,
    "use_title_as_name": False,
    "capitalise_enum_members": False,
    "snake_case_field": False,
    "allow_population_by_field_name": True,
    "formatters": [],  # black runs once, in-process, in the format stage
    # Replaced by a relative import of the runtime's APIModel in the render stage.
    "base_class": "sdkforge_runtime_placeholder.APIModel",
}


def render_models(document: Mapping[str, Any], api: Api, label: str) -> str:
    """The source of the ``types`` models module (unformatted)."""
    from datamodel_code_generator import InputFileType, generate  # heavy: import only when used

    if not api.models:
        return "from __future__ import annotations\n"
    source = generate(
        normalize_for_models(document),
        input_file_type=InputFileType.OpenAPI,
        model_name_map={model.pointer: model.class_name for model in api.models},
        custom_file_header='"""The API\'s data types, as pydantic models (made by datamodel-code-generator)."""',
        **DATAMODEL_OPTIONS,
    )
    assert isinstance(source, str)  # one module: generate() returns its text
    _check_classes(source, api, label)
    return source


def normalize_for_models(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as datamodel-code-generator should see it.

    - paths are dropped: only component schemas become models, operations are the IR's;
    - an "object or null" component becomes the object, and references to it ``anyOf`` the
      object and null, so that its class is the object's (as ``lower.model_ref`` decided);
    - a ``default`` beside ``anyOf``/``oneOf`` is dropped: the generator would copy it onto
      every branch, where it is usually of the wrong type.
    """
    schemas = (document.get("components") or {}).get("schemas") or {}
    unwrapped = {f"#/components/schemas/{escape_ref_token(name)}" for name, schema in schemas.items()
                 if isinstance(schema, Mapping) and nullable_object(schema) is not None}
    components = dict(document.get("components") or {})
    new_schemas: dict[str, Any] = {}
    for name, schema in schemas.items():
        if f"#/components/schemas/{escape_ref_token(name)}" in unwrapped:
            inner = dict(nullable_object(schema) or {})
            if "description" in schema and "description" not in inner:
                inner["description"] = schema["description"]
            schema = inner
        new_schemas[name] = _rewrite(schema, unwrapped)
    components["schemas"] = new_schemas
    return {**document, "paths": {}, "components": components}


def _rewrite(node: Any, unwrapped: set[str]) -> Any:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in unwrapped:
            return {"anyOf": [{"$ref": ref}, {"type": "null"}], **{k: v for k, v in node.items() if k != "$ref"}}
        drop_default = "anyOf" in node or "oneOf" in node
        return {key: _rewrite(value, unwrapped) for key, value in node.items() if not (drop_default and key == "default")}
    if isinstance(node, list):
        return [_rewrite(item, unwrapped) for item in node]
    return node


def _check_classes(source: str, api: Api, label: str) -> None:
    defined = {node.name for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    defined |= {
        target.id
        for node in ast.parse(source).body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    missing = [model for model in api.models if model.class_name not in defined]
    if missing:
        raise SpecError(
            [
                SpecProblem(label, m.pointer, f"datamodel-code-generator did not emit class {m.class_name!r}",
                            "report this schema to the sdkforge maintainers")
                for m in missing
            ]
        )
