"""What the generated documentation shows, decided before the templates lay it out.

Two halves:

- during lowering, ``operation_examples`` turns the spec's examples (request body ``examples`` /
  ``example``, parameter examples, else schema examples, defaults, enum values and placeholders)
  into ``ir.Example`` calls whose argument values are Python literals made with ``repr()``, and
  ``distribution`` decides the name and version the emitted pyproject.toml gives the package;
- at render time, ``build_docs`` makes frozen view objects for README.md.j2 and api.md.j2: the
  example code of every method (``MethodDoc``), and every model with its fields, read from the
  model modules the models stage wrote (``ModelDoc``), so the names are exactly the ones users get.

Spec text never becomes code: values go through ``python_literal`` and names come from the IR.
"""

from __future__ import annotations

import ast
import datetime
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from . import naming
from .ir import (
    Api,
    string_literal,
    Body,
    BodyEncoding,
    Distribution,
    Example,
    ExampleArg,
    Operation,
    Param,
    ParamLocation,
    Resource,
    StreamSpec,
    TomlString,
    TypeKind,
)

if TYPE_CHECKING:
    from .config import Config
    from .lower import Lowering

_MAX_DEPTH = 8  # of made-up values (recursive schemas) and of literals (recursive YAML anchors)
_LINE = 88  # example calls longer than this put one argument per line


# -- literals ---------------------------------------------------------------------------------


class NotALiteral(ValueError):
    """A value that has no safe Python literal (a non-finite float, a non-string key, ...)."""


def python_literal(value: Any, depth: int = 0) -> str:
    """Python source for a JSON-like value, built from ``repr()`` of its scalars.

    Strings use double quotes when that needs no escape (as black would write them).
    """
    if depth > 2 * _MAX_DEPTH:
        raise NotALiteral("too deeply nested")
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotALiteral(f"{value!r} has no JSON form")
        return repr(value)
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, (datetime.date, datetime.datetime)):  # YAML timestamps: the JSON text
        return string_literal(value.isoformat())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(python_literal(v, depth + 1) for v in value) + "]"
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotALiteral(f"key {key!r} is not a string")
            items.append(f"{string_literal(key)}: {python_literal(item, depth + 1)}")
        return "{" + ", ".join(items) + "}"
    raise NotALiteral(f"{type(value).__name__} is not a JSON value")


# -- examples (during lowering) ---------------------------------------------------------------

_MISSING = object()


def operation_examples(
    lowering: Lowering, path: str, operation: Mapping[str, Any], params: tuple[Param, ...],
    body: Body | None, stream: StreamSpec | None,
) -> tuple[Example, ...]:
    """The calls the docs show for one operation: one per example of the request body, or one
    made from parameter examples and the schemas; plus a streaming call when the operation can
    stream and no example does."""
    raw_params = _raw_parameters(lowering, path, operation)
    param_args: list[ExampleArg] = []
    params_from_spec = False
    for param in params:
        raw = raw_params.get((param.wire_name.text, param.location.value), {})
        explicit = _parameter_example(lowering, raw)
        if explicit is not _MISSING:
            params_from_spec = True
        elif not param.required:
            continue
        value = explicit if explicit is not _MISSING else _sample(lowering, raw.get("schema"), hint=param.wire_name.text)
        arg = _arg(param, value)
        if arg is not None:
            param_args.append(arg)

    media = _media(lowering, operation, body) if body else {}
    examples: list[Example] = []
    for name, summary, value in _body_examples(lowering, media):
        body_args = _body_args(lowering, body, media, value)
        if body_args is None:
            continue
        args = tuple(param_args) + body_args
        examples.append(Example(name, summary, args, _streams(stream, body, value), True))
    if not examples:
        body_args = _body_args(lowering, body, media, _MISSING) or ()
        examples.append(Example("", "", tuple(param_args) + body_args, _streams(stream, body, _MISSING), params_from_spec))
    switch = stream.switch if stream else None
    if switch is not None and not any(e.streams for e in examples):
        base = next(e for e in examples if not e.streams)
        args = tuple(a for a in base.args if a.name != switch.name) + (ExampleArg(switch.name, "True"),)
        examples.append(Example("", "", args, True, False))
    return tuple(examples)


def _raw_parameters(lowering: Lowering, path: str, operation: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    path_item = (lowering.document.get("paths") or {}).get(path) or {}
    for items in (path_item.get("parameters"), operation.get("parameters")):
        for raw in items or []:
            resolved = lowering.resolve(raw["$ref"]) if isinstance(raw, Mapping) and "$ref" in raw else raw
            if isinstance(resolved, Mapping) and "name" in resolved:
                found[(str(resolved["name"]), str(resolved.get("in")))] = resolved
    return found


def _parameter_example(lowering: Lowering, raw: Mapping[str, Any]) -> Any:
    if "example" in raw:
        return raw["example"]
    for _, _, value in _named_examples(lowering, raw.get("examples")):
        return value
    schema = _resolved(lowering, raw.get("schema"))
    if isinstance(schema, Mapping):
        if "example" in schema:
            return schema["example"]
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return schema["examples"][0]
    return _MISSING


def _named_examples(lowering: Lowering, examples: Any) -> Iterable[tuple[str, str, Any]]:
    """``(key, summary, value)`` of an OpenAPI ``examples`` map (Example objects, maybe $refs)."""
    if not isinstance(examples, Mapping):
        return
    for key, example in examples.items():
        example = _resolved(lowering, example)
        if isinstance(example, Mapping) and "value" in example:
            yield str(key), str(example.get("summary") or ""), example["value"]


def _body_examples(lowering: Lowering, media: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    found = list(_named_examples(lowering, media.get("examples")))
    if not found and "example" in media:
        found.append(("", "", media["example"]))
    if not found:
        schema = _resolved(lowering, media.get("schema"))
        if isinstance(schema, Mapping) and "example" in schema:
            found.append(("", "", schema["example"]))
        elif isinstance(schema, Mapping) and isinstance(schema.get("examples"), list) and schema["examples"]:
            found.append(("", "", schema["examples"][0]))
    return found


def _media(lowering: Lowering, operation: Mapping[str, Any], body: Body) -> Mapping[str, Any]:
    """The media type object of the request body content the IR chose."""
    request_body = _resolved(lowering, operation.get("requestBody"))
    content = request_body.get("content") if isinstance(request_body, Mapping) else None
    media = content.get(body.content_type.text) if isinstance(content, Mapping) else None
    return media if isinstance(media, Mapping) else {}


def _body_args(lowering: Lowering, body: Body | None, media: Mapping[str, Any], value: Any) -> tuple[ExampleArg, ...] | None:
    """Arguments for a body example (``_MISSING``: made up from the schema); None if unusable."""
    if body is None:
        return ()
    if body.whole is not None:
        whole = body.whole
        if value is _MISSING:
            if not whole.required:
                return ()
            value = _sample(lowering, media.get("schema"), hint=whole.name)
        if body.encoding is BodyEncoding.BINARY:
            text = value if isinstance(value, str) else "..."
            literal = repr(text) if whole.type.kind is TypeKind.STR else repr(text.encode("utf-8"))
            return (ExampleArg(whole.name, literal),)
        arg = _arg(whole, value)
        return (arg,) if arg is not None else None
    properties, _ = lowering._object_properties(media.get("schema"))
    properties = properties or {}
    given = value if isinstance(value, Mapping) else {}
    if value is not _MISSING and not isinstance(value, Mapping):
        return None
    by_wire = {field.wire_name.text: field for field in body.fields}
    args: list[ExampleArg] = []
    for key, item in given.items():
        field = by_wire.get(str(key))
        if field is not None:
            arg = _file_arg(field) if field.is_file else _arg(field, item)
            if arg is not None:
                args.append(arg)
    for field in body.fields:  # a call must pass every required argument
        if field.required and field.wire_name.text not in given:
            arg = _file_arg(field) if field.is_file else _arg(field, _sample(lowering, properties.get(field.wire_name.text), hint=field.wire_name.text))
            if arg is not None:
                args.append(arg)
    return tuple(args)


def _arg(param: Param, value: Any) -> ExampleArg | None:
    if value is _MISSING:
        return None
    try:
        literal = python_literal(value)
    except NotALiteral:
        return None
    return ExampleArg(param.name, literal, positional=param.location is ParamLocation.PATH)


def _file_arg(param: Param) -> ExampleArg:
    # Any of bytes, an open file, a path or (name, content, type) works; bytes show it simply.
    return ExampleArg(param.name, 'b"file contents"')


def _streams(stream: StreamSpec | None, body: Body | None, value: Any) -> bool:
    if stream is None:
        return False
    if stream.switch is None:
        return True
    if isinstance(value, Mapping) and stream.switch.wire_name.text in value:
        return value[stream.switch.wire_name.text] is True
    return stream.default_on


def _resolved(lowering: Lowering, node: Any, depth: int = 0) -> Any:
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < 20:
        node = lowering.resolve(node["$ref"])
        depth += 1
    return node


def _sample(lowering: Lowering, schema: Any, hint: str = "", depth: int = 0) -> Any:
    """A plausible value for a schema: its example, default, first enum value, else a placeholder."""
    schema = _resolved(lowering, schema)
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return None
    if "example" in schema:
        return schema["example"]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and any(v is not None for v in schema["enum"]):
        return next(v for v in schema["enum"] if v is not None)
    for key in ("anyOf", "oneOf"):
        members = [m for m in schema.get(key) or [] if _resolved(lowering, m) != {"type": "null"}]
        if members:
            return _sample(lowering, members[0], hint, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for member in schema["allOf"]:
            part = _sample(lowering, member, hint, depth + 1)
            if isinstance(part, dict):
                merged.update(part)
        return merged
    declared = schema.get("type")
    kinds = [k for k in (declared if isinstance(declared, list) else [declared]) if k != "null"]
    kind = kinds[0] if kinds else ("object" if "properties" in schema else "array" if "items" in schema else None)
    if kind == "string":
        return _PLACEHOLDER_FORMATS.get(str(schema.get("format")), hint or "string")
    if kind == "integer":
        return schema.get("minimum", 0) if isinstance(schema.get("minimum"), int) else 0
    if kind == "number":
        return schema.get("minimum", 0) if isinstance(schema.get("minimum"), (int, float)) else 0
    if kind == "boolean":
        return True
    if kind == "array":
        item = _sample(lowering, schema.get("items"), hint, depth + 1)
        return [] if item is None else [item]
    if kind == "object":
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        properties = schema.get("properties") or {}
        return {name: _sample(lowering, properties.get(name), name, depth + 1) for name in required}
    return None


_PLACEHOLDER_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "binary": "...",
    "byte": "",
}


# -- the distribution (during lowering) --------------------------------------------------------

_CANONICAL_VERSION = re.compile(
    r"(?:[1-9][0-9]*!)?(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*"
    r"(?:(?:a|b|rc)(?:0|[1-9][0-9]*))?(?:\.post(?:0|[1-9][0-9]*))?(?:\.dev(?:0|[1-9][0-9]*))?"
)


def package_version(text: str) -> str:
    """A PEP 440 version for pip: the text itself when it is one, else its numbers joined by dots
    (``2024-10-21`` -> ``2024.10.21``, ``v1`` -> ``1``), else ``0.0.0``."""
    text = text.strip()
    if _CANONICAL_VERSION.fullmatch(text):
        return text
    numbers = [str(int(n)) for n in re.findall(r"\d+", text)][:6]
    return ".".join(numbers) if numbers else "0.0.0"


def distribution(config: Config, info: Mapping[str, Any]) -> Distribution:
    title = str(info.get("title") or config.package)
    version = config.version or str(info.get("version") or "")
    description = f"Python client for the {title}" if not title.lower().startswith("the ") else f"Python client for {title}"
    about = str(info.get("description") or "").strip()
    return Distribution(
        name=config.package.replace("_", "-"),
        version=package_version(version),
        description=TomlString(description + " (generated by sdkforge)"),
        # The directory's own name: install from the directory that holds it. (Its path from
        # where the command ran would make the README depend on the working directory.)
        directory=PurePosixPath(config.out.replace("\\", "/")).name or "generated",
        about=about,
    )


# -- the documentation view (at render time) ---------------------------------------------------


def _first_paragraph(text: str) -> str:
    paragraph = []
    for line in text.strip().splitlines():
        if not line.strip():
            break
        paragraph.append(line.strip())
    return " ".join(paragraph)


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


@dataclass(frozen=True)
class ParamDoc:
    param: Param

    @property
    def name(self) -> str:
        return self.param.name

    @property
    def type_cell(self) -> str:
        return _cell(f"`{self.param.type.annotation}`")

    @property
    def location(self) -> str:
        if self.param.location is ParamLocation.PATH:
            return "path (positional)"
        return "body (file)" if self.param.is_file else self.param.location.value

    @property
    def required(self) -> bool:
        return self.param.required

    @property
    def description_cell(self) -> str:
        return _cell(_first_paragraph(self.param.description))


@dataclass(frozen=True)
class MethodDoc:
    """One method as the docs show it: where it hangs and how to call it."""

    resource: str  # attribute path from the client: "completions", "chat.completions"
    operation: Operation

    @property
    def name(self) -> str:
        return self.operation.method_name

    @property
    def accessor(self) -> str:
        return f"{self.resource}.{self.name}"

    @property
    def anchor(self) -> str:
        """The heading's id on GitHub: ``client.chat.completions.create`` -> ``clientchatcompletionscreate``."""
        return re.sub(r"[^a-z0-9_-]", "", f"client.{self.accessor}".lower())

    @property
    def http(self) -> str:
        return f"{self.operation.http_method.upper()} {self.operation.path.text}"

    @property
    def summary(self) -> str:
        lines = self.operation.docstring.lines
        return _first_paragraph("\n".join(lines[: lines.index("Args:")] if "Args:" in lines else lines))

    @property
    def description(self) -> str:
        """The method's docstring without the argument list, as Markdown prose."""
        lines = list(self.operation.docstring.lines)
        if "Args:" in lines:
            lines = lines[: lines.index("Args:")]
        return "\n".join(lines).strip()

    @property
    def params(self) -> tuple[ParamDoc, ...]:
        return tuple(ParamDoc(p) for p in self.operation.all_params)

    @property
    def returns(self) -> str:
        return _cell(f"`{self.operation.returns('Stream')}`")

    @property
    def result_name(self) -> str:
        response = self.operation.response_type
        if response.kind is TypeKind.NONE:
            return ""
        if response.kind is TypeKind.MODEL:
            return naming.snake_identifier(response.model, fallback="result")
        return "result"

    @property
    def example(self) -> Example | None:
        return self.operation.primary_example

    @property
    def streaming_example(self) -> Example | None:
        return self.operation.streaming_example

    def call(self, example: Example, client: str = "client", via: str = "", awaited: bool = False) -> str:
        """``client.<resource>[.via].<method>(args)``, one argument per line when long."""
        target = ".".join(part for part in (client, self.resource, via, self.name) if part)
        prefix = "await " if awaited else ""
        args = [a.literal for a in example.positional_args] + [f"{a.name}={a.literal}" for a in example.keyword_args]
        one_line = f"{prefix}{target}({', '.join(args)})"
        if len(one_line) <= _LINE or not args:
            return one_line
        return f"{prefix}{target}(\n" + "".join(f"    {arg},\n" for arg in args) + ")"

    def example_code(self, example: Example, client: str = "client", awaited: bool = False) -> str:
        """The call, its result in a variable, and what to do with it."""
        call = self.call(example, client, awaited=awaited)
        if example.streams:
            loop = "async for" if awaited else "for"
            return f"stream = {call}\n{loop} chunk in stream:\n    print(chunk)"
        if not self.result_name:
            return call
        return f"{self.result_name} = {call}\nprint({self.result_name})"

    @property
    def code(self) -> str:
        return self.example_code(self.example) if self.example else ""


@dataclass(frozen=True)
class ResourceDoc:
    accessor: str  # "completions", "chat.completions"
    resource: Resource
    methods: tuple[MethodDoc, ...]

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9_-]", "", f"client.{self.accessor}".lower())


@dataclass(frozen=True)
class FieldDoc:
    name: str
    annotation: str
    required: bool
    description: str

    @property
    def type_cell(self) -> str:
        return _cell(f"`{self.annotation}`")

    @property
    def description_cell(self) -> str:
        return _cell(self.description)


@dataclass(frozen=True)
class ModelDoc:
    class_name: str
    description: str
    fields: tuple[FieldDoc, ...]
    root: str = ""  # the wrapped type of a RootModel (a named union or list)

    @property
    def root_cell(self) -> str:
        return _cell(f"`{self.root}`")


@dataclass(frozen=True)
class PackageDocs:
    """Everything README.md.j2 and api.md.j2 lay out."""

    api: Api
    distribution: Distribution
    resources: tuple[ResourceDoc, ...]
    models: tuple[ModelDoc, ...]

    @property
    def methods(self) -> tuple[MethodDoc, ...]:
        return tuple(m for r in self.resources for m in r.methods)

    @property
    def featured(self) -> MethodDoc | None:
        """The method the streaming-free sections use: the first with an example from the spec."""
        candidates = [m for m in self.methods if m.example is not None]
        return next((m for m in candidates if m.example and m.example.from_spec), candidates[0] if candidates else None)

    @property
    def streaming(self) -> MethodDoc | None:
        """The method the streaming section uses: the first whose spec example streams, else the first that can."""
        candidates = [m for m in self.methods if m.streaming_example is not None]
        return next((m for m in candidates if m.streaming_example and m.streaming_example.from_spec), candidates[0] if candidates else None)

    @property
    def env_api_key(self) -> str:
        auth = self.api.auth
        return auth.env_var.text if auth and auth.env_var else ""

    @property
    def env_base_url(self) -> str:
        return self.api.base_url_env.text if self.api.base_url_env else ""


def build_docs(api: Api, files: Mapping[PurePosixPath, str]) -> PackageDocs | None:
    """The documentation view of a package; None when the IR has no distribution (no docs)."""
    if api.distribution is None:
        return None
    resources: list[ResourceDoc] = []

    def visit(resource: Resource, prefix: str) -> None:
        accessor = f"{prefix}.{resource.attribute}" if prefix else resource.attribute
        resources.append(ResourceDoc(accessor, resource, tuple(MethodDoc(accessor, op) for op in resource.operations)))
        for child in resource.children:
            visit(child, accessor)

    for top in api.resources:
        visit(top, "")
    types_dir = PurePosixPath(api.package) / "types"
    sources = [text for path, text in sorted(files.items()) if path.parent == types_dir and path.suffix == ".py" and path.name != "__init__.py"]
    return PackageDocs(api, api.distribution, tuple(resources), model_docs(sources, {m.class_name for m in api.models}))


def model_docs(sources: Iterable[str], exported: set[str]) -> tuple[ModelDoc, ...]:
    """The exported model classes of the model modules, with their fields, in name order."""
    found: dict[str, ModelDoc] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name in exported and node.name not in found:
                found[node.name] = _model_doc(node)
    return tuple(found[name] for name in sorted(found))


def _model_doc(node: ast.ClassDef) -> ModelDoc:
    root = ""
    for base in node.bases:
        if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) and base.value.id == "RootModel":
            root = _annotation(base.slice)
    fields: list[FieldDoc] = []
    body = node.body
    for index, statement in enumerate(body):  # a field, then its docstring
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        name = statement.target.id
        if name in ("model_config", "root"):
            continue
        following = body[index + 1] if index + 1 < len(body) else None
        description = ""
        if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
            description = _first_paragraph(following.value.value)
        fields.append(FieldDoc(name, _annotation(statement.annotation), statement.value is None, description))
    return ModelDoc(node.name, _first_paragraph(ast.get_docstring(node) or ""), tuple(fields), root)


def _annotation(node: ast.expr) -> str:
    # Annotated[X, Field(...)] documents as X: the constraints live in the model, not the docs.
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Annotated":
        node = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
    return ast.unparse(_Unqualified().visit(node))


class _Unqualified(ast.NodeTransformer):
    """``completion_choice.CompletionChoice`` -> ``CompletionChoice``: which module defines a
    model is not the reader's business (exported ones are all in the types package)."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name):
            return ast.Name(id=node.attr, ctx=node.ctx)
        return self.generic_visit(node)
