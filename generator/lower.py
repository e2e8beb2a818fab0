"""Stage 2: lower a loaded spec into the frozen IR (``ir.Api``).

Works on the validated plain document so that OpenAPI 3.0 and 3.1 share one code path; every
name is chosen through ``naming`` and every problem is reported with its JSON pointer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import __version__, naming
from .config import Config
from .errors import pointer
from .ir import (
    Api,
    AuthKind,
    AuthScheme,
    Body,
    BodyEncoding,
    Docstring,
    Model,
    Operation,
    Param,
    ParamLocation,
    PyString,
    Resource,
    StreamFormat,
    StreamSpec,
    TypeKind,
    TypeRef,
    union,
)
from .load import LoadedSpec

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
STREAMING_EXTENSION = "x-sdkforge-streaming"
_SCHEMA_PREFIX = "#/components/schemas/"
_ANY = TypeRef(TypeKind.ANY)
_NONE = TypeRef(TypeKind.NONE)
_PRIMITIVES = {
    "string": TypeRef(TypeKind.STR),
    "integer": TypeRef(TypeKind.INT),
    "number": TypeRef(TypeKind.FLOAT),
    "boolean": TypeRef(TypeKind.BOOL),
    "null": _NONE,
}


class Lowering:
    """One lowering run; collects problems instead of stopping at the first."""

    def __init__(self, spec: LoadedSpec, config: Config) -> None:
        self.spec = spec
        self.config = config
        self.document = spec.document
        self.problems: list[tuple[str, str, str]] = []
        self.schemas: Mapping[str, Any] = self.document.get("components", {}).get("schemas", {}) or {}
        self.model_names = self._name_models()

    # -- models --------------------------------------------------------------------------

    def _name_models(self) -> dict[str, str]:
        """Class name for every component schema that becomes a class, keyed by its ``$ref``."""
        taken: set[str] = set()
        names: dict[str, str] = {}
        for name in self.schemas:
            names[_SCHEMA_PREFIX + naming.escape_ref_token(name)] = naming.unique(
                naming.pascal_identifier(name), taken, separator=""
            )
        return names

    def model_ref(self, ref: str) -> tuple[str, bool] | None:
        """The class a ``$ref`` becomes, and whether the reference may be null.

        A class is made for object schemas, and for "an object or null" wrappers, whose class
        is the object (the models stage unwraps them the same way, see ``nullable_object``).
        """
        target = self.resolve(ref)
        if ref not in self.model_names or not isinstance(target, Mapping):
            return None
        if _is_object_schema(target):
            return self.model_names[ref], False
        if nullable_object(target) is not None:
            return self.model_names[ref], True
        return None

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            return None
        node: Any = self.document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or token not in node:
                return None
            node = node[token]
        return node

    # -- types ---------------------------------------------------------------------------

    def type_of(self, schema: Any, where: str, seen: frozenset[str] = frozenset(), request: bool = False) -> TypeRef:
        """The Python type of a schema as used in a signature; object refs become model classes.

        On the request side (``request=True``) a model may also be given as a plain dict.
        """
        if not isinstance(schema, Mapping):
            return _ANY
        ref = schema.get("$ref")
        if isinstance(ref, str):
            found = self.model_ref(ref)
            if found:
                name, nullable = found
                model = TypeRef(TypeKind.MODEL, model=name)
                if request:
                    model = union(model, TypeRef(TypeKind.DICT, (TypeRef(TypeKind.OBJECT),)))
                return union(model, _NONE) if nullable else model
            target = self.resolve(ref)
            if target is None:
                self.problems.append((where, f"$ref {ref!r} points nowhere", "fix the reference or add the schema"))
                return _ANY
            if ref in seen:
                return _ANY  # a recursive alias with no class to name it
            return self.type_of(target, ref, seen | {ref}, request)
        result = self._type_of_inline(schema, where, seen, request)
        if schema.get("nullable") is True:
            result = union(result, _NONE)
        return result

    def _type_of_inline(self, schema: Mapping[str, Any], where: str, seen: frozenset[str], request: bool) -> TypeRef:
        if "const" in schema and _is_literal_value(schema["const"]):
            return TypeRef(TypeKind.LITERAL, literals=(schema["const"],))
        for key in ("anyOf", "oneOf"):
            members = schema.get(key)
            if isinstance(members, list) and members:
                return union(*(self.type_of(m, f"{where}/{key}/{i}", seen, request) for i, m in enumerate(members)))
        if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            return self.type_of(schema["allOf"][0], f"{where}/allOf/0", seen, request)
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            values = tuple(v for v in enum if _is_literal_value(v))
            literal = TypeRef(TypeKind.LITERAL, literals=values) if values else _ANY
            return union(literal, _NONE) if None in enum else literal
        declared = schema.get("type")
        kinds = declared if isinstance(declared, list) else [declared] if declared else []
        if not kinds:
            if "properties" in schema or "additionalProperties" in schema:
                kinds = ["object"]
            elif "items" in schema:
                kinds = ["array"]
            else:
                return _ANY
        return union(*(self._type_of_kind(kind, schema, where, seen, request) for kind in kinds))

    def _type_of_kind(self, kind: Any, schema: Mapping[str, Any], where: str, seen: frozenset[str], request: bool) -> TypeRef:
        if kind == "array":
            return TypeRef(TypeKind.LIST, (self.type_of(schema.get("items", {}), f"{where}/items", seen, request),))
        if kind == "object":
            extra = schema.get("additionalProperties")
            value = self.type_of(extra, f"{where}/additionalProperties", seen, request) if isinstance(extra, Mapping) else _ANY
            return TypeRef(TypeKind.DICT, (value,))
        if kind == "string" and schema.get("format") == "binary":
            return TypeRef(TypeKind.BYTES)
        if kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        self.problems.append((f"{where}/type", f"unknown type {kind!r}", "use one of string, integer, number, boolean, array, object, null"))
        return _ANY

    # -- operations ----------------------------------------------------------------------

    def lower(self) -> Api:
        grouped: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
        for path, item in (self.document.get("paths") or {}).items():
            if not isinstance(item, Mapping):
                continue
            for http_method in HTTP_METHODS:
                operation = item.get(http_method)
                if isinstance(operation, Mapping):
                    grouped.setdefault(self._resource_key(path, operation), []).append((path, http_method, operation))
        resources = []
        taken_attributes = set(naming.RESERVED_ATTRIBUTES)
        taken_classes: set[str] = set()
        for key, operations in grouped.items():
            attribute = naming.unique(naming.snake_identifier(key, fallback="default"), taken_attributes)
            class_name = naming.unique(naming.pascal_identifier(key, fallback="Default"), taken_classes, separator="")
            resource_words = naming.words(key.lower())
            taken_methods: set[str] = set()
            lowered = tuple(self._operation(path, http_method, op, resource_words, taken_methods) for path, http_method, op in operations)
            resources.append(Resource(attribute, class_name, attribute, lowered))
        api = Api(
            package=self.config.package,
            client_class=self.config.client_class,
            async_client_class=self.config.async_client_name,
            title=PyString(str(self.document.get("info", {}).get("title", ""))),
            version=PyString(str(self.document.get("info", {}).get("version", ""))),
            spec_label=_safe_label(self.config.spec),
            generator_version=__version__,
            base_url=PyString(self._base_url()),
            base_url_env=PyString(self.config.base_url_env) if self.config.base_url_env else None,
            auth=self._auth(),
            resources=tuple(resources),
            models=tuple(Model(name, ref) for ref, name in self.model_names.items()),
        )
        if self.problems:
            raise self.spec.fail(self.problems)
        return api

    def _resource_key(self, path: str, operation: Mapping[str, Any]) -> str:
        tags = operation.get("tags")
        if isinstance(tags, list) and tags and isinstance(tags[0], str):
            return tags[0]
        segments = [s for s in path.split("/") if s and not s.startswith("{")]
        return segments[0] if segments else "default"

    def _operation(
        self, path: str, http_method: str, operation: Mapping[str, Any], resource_words: list[str], taken: set[str]
    ) -> Operation:
        where = pointer("paths", path, http_method)
        operation_id = str(operation.get("operationId", ""))
        name = naming.unique(naming.method_name(operation_id, resource_words, http_method), taken)
        taken_params = set(naming.RESERVED_PARAMETER_NAMES)
        params = self._parameters(path, operation, where, taken_params)
        body = self._body(operation, where, taken_params)
        response_type, stream_content = self._success_response(operation, where)
        stream = self._stream(operation, where, body, stream_content)
        path_template = path
        for param in params:
            if param.location is ParamLocation.PATH:
                path_template = path_template.replace("{" + param.wire_name.text + "}", "{" + param.name + "}")
        return Operation(
            method_name=name,
            http_method=http_method,
            path=PyString(path_template),
            operation_id=operation_id,
            pointer=where,
            params=params,
            body=body,
            response_type=response_type,
            stream=stream,
            docstring=self._docstring(operation, params + (body.fields if body else ())),
            deprecated=operation.get("deprecated") is True,
        )

    def _parameters(self, path: str, operation: Mapping[str, Any], where: str, taken: set[str]) -> tuple[Param, ...]:
        declared: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
        path_item = self.document["paths"][path]
        for source, items in (("", path_item.get("parameters")), (where, operation.get("parameters"))):
            for index, raw in enumerate(items or []):
                at = f"{source or pointer('paths', path)}/parameters/{index}"
                resolved = self.resolve(raw["$ref"]) if isinstance(raw, Mapping) and "$ref" in raw else raw
                if not isinstance(resolved, Mapping) or "name" not in resolved:
                    self.problems.append((at, "unusable parameter", "give it a name and an 'in'"))
                    continue
                declared[(str(resolved["name"]), str(resolved.get("in")))] = (resolved, at)
        params = []
        for (wire_name, location), (raw, at) in declared.items():
            try:
                kind = ParamLocation(location)
            except ValueError:
                self.problems.append((f"{at}/in", f"unknown parameter location {location!r}", "use path, query, header or cookie"))
                continue
            if kind is ParamLocation.PATH and "{" + wire_name + "}" not in path:
                self.problems.append((at, f"path parameter {wire_name!r} does not appear in the path {path!r}", "rename it or add it to the path"))
                continue
            required = kind is ParamLocation.PATH or raw.get("required") is True
            params.append(
                Param(
                    name=naming.unique(naming.snake_identifier(wire_name, fallback="param"), taken),
                    wire_name=PyString(wire_name),
                    location=kind,
                    type=self.type_of(raw.get("schema", {}), f"{at}/schema", request=True),
                    required=required,
                    description=str(raw.get("description", "")),
                )
            )
        return tuple(params)

    def _body(self, operation: Mapping[str, Any], where: str, taken: set[str]) -> Body | None:
        request_body = operation.get("requestBody")
        if isinstance(request_body, Mapping) and "$ref" in request_body:
            request_body = self.resolve(request_body["$ref"])
        if not isinstance(request_body, Mapping):
            return None
        content = request_body.get("content") or {}
        if "application/json" not in content:
            self.problems.append((f"{where}/requestBody", "only application/json request bodies are supported so far", "declare application/json content"))
            return None
        at = f"{where}/requestBody/content/application~1json/schema"
        schema = content["application/json"].get("schema", {})
        target = self.resolve(schema["$ref"]) if isinstance(schema, Mapping) and "$ref" in schema else schema
        body_required = request_body.get("required") is True
        if isinstance(target, Mapping) and _is_object_schema(target) and "allOf" not in target:
            required = set(target.get("required") or [])
            fields = []
            for prop, prop_schema in (target.get("properties") or {}).items():
                fields.append(
                    Param(
                        name=naming.unique(naming.snake_identifier(prop, fallback="field"), taken),
                        wire_name=PyString(prop),
                        location=ParamLocation.BODY,
                        type=self.type_of(prop_schema, f"{at}/properties/{prop}", request=True),
                        required=body_required and prop in required,
                        description=self._description(prop_schema),
                    )
                )
            return Body("application/json", BodyEncoding.JSON, tuple(fields))
        whole = Param(naming.unique("body", taken), PyString("body"), ParamLocation.BODY, self.type_of(schema, at, request=True), body_required)
        return Body("application/json", BodyEncoding.JSON, (), whole)

    def _success_response(self, operation: Mapping[str, Any], where: str) -> tuple[TypeRef, Mapping[str, Any] | None]:
        responses = operation.get("responses") or {}
        if not responses:
            self.problems.append((f"{where}/responses", "the operation declares no responses", "declare at least one response"))
        for status in sorted(str(s) for s in responses):
            if not (status.startswith("2") or status == "2XX"):
                continue
            response = responses.get(status, responses.get(int(status)) if status.isdigit() else None)
            if isinstance(response, Mapping) and "$ref" in response:
                response = self.resolve(response["$ref"])
            content = (response or {}).get("content") or {}
            json_type = next((ct for ct in content if ct.split(";")[0].strip().endswith("json") and "ndjson" not in ct), None)
            stream_type = next((ct for ct in content if ct.startswith(("text/event-stream", "application/x-ndjson"))), None)
            stream_content = {"media_type": stream_type, **content[stream_type]} if stream_type else None
            if json_type:
                at = f"{where}/responses/{status}/content/{json_type.replace('/', '~1')}/schema"
                return self.type_of(content[json_type].get("schema", {}), at), stream_content
            return _NONE, stream_content
        return _NONE, None

    def _stream(
        self, operation: Mapping[str, Any], where: str, body: Body | None, stream_content: Mapping[str, Any] | None
    ) -> StreamSpec | None:
        extension = operation.get(STREAMING_EXTENSION)
        if stream_content is None and not isinstance(extension, Mapping):
            return None
        settings = extension if isinstance(extension, Mapping) else {}
        media_type = (stream_content or {}).get("media_type", "text/event-stream")
        stream_format = StreamFormat.NDJSON if "ndjson" in media_type else StreamFormat.SSE
        event_schema = (stream_content or {}).get("itemSchema") or (stream_content or {}).get("schema")
        if "event-schema" in settings:
            event_schema = {"$ref": settings["event-schema"]}
        event_type = self.type_of(event_schema, f"{where}/responses") if event_schema else _ANY
        switch_name = settings.get("param", "stream")
        switch = next((f for f in (body.fields if body else ()) if f.wire_name.text == switch_name), None)
        if switch is None and "param" in settings:
            self.problems.append((f"{where}/{STREAMING_EXTENSION}/param", f"no request body field {switch_name!r} switches streaming", "name a boolean body property"))
        terminator = settings.get("terminator")
        return StreamSpec(stream_format, event_type, switch, PyString(str(terminator)) if terminator is not None else None)

    def _docstring(self, operation: Mapping[str, Any], params: tuple[Param, ...]) -> Docstring:
        lines: list[str] = []
        for key in ("summary", "description"):
            text = str(operation.get(key) or "").strip()
            if text and text not in "\n".join(lines):
                lines.extend([*text.splitlines(), ""])
        documented = [p for p in params if p.description.strip()]
        if documented:
            lines.append("Args:")
            for param in documented:
                first, *rest = param.description.strip().splitlines()
                lines.append(f"  {param.name}: {first}")
                lines.extend(f"    {line}" if line.strip() else "" for line in rest)
                lines.append("")
        while lines and not lines[-1].strip():
            lines.pop()
        return Docstring(tuple(lines))

    def _description(self, schema: Any) -> str:
        """A property's description, or that of the schema it refers to."""
        if not isinstance(schema, Mapping):
            return ""
        if "description" not in schema and isinstance(schema.get("$ref"), str):
            schema = self.resolve(schema["$ref"]) or {}
        return str(schema.get("description", "")) if isinstance(schema, Mapping) else ""

    # -- client-wide ---------------------------------------------------------------------

    def _base_url(self) -> str:
        servers = self.document.get("servers") or []
        if servers and isinstance(servers[0], Mapping):
            url = str(servers[0].get("url", ""))
            for name, variable in (servers[0].get("variables") or {}).items():
                url = url.replace("{" + name + "}", str(variable.get("default", "")))
            return url
        return "http://localhost"

    def _auth(self) -> AuthScheme | None:
        schemes = (self.document.get("components") or {}).get("securitySchemes") or {}
        requirements = self.document.get("security") or []
        chosen = next((name for req in requirements if isinstance(req, Mapping) for name in req if name in schemes), None)
        chosen = chosen or next(iter(schemes), None)
        if chosen is None:
            return None
        scheme = schemes[chosen]
        env = self.config.api_key_env or f"{self.config.package.upper()}_API_KEY"
        kind = str(scheme.get("type", "")).lower()
        if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            return AuthScheme(AuthKind.BASIC, "api_key", PyString(env), None)
        if kind == "apikey":
            location = AuthKind.API_KEY_QUERY if scheme.get("in") == "query" else AuthKind.API_KEY_HEADER
            return AuthScheme(location, "api_key", PyString(env), PyString(str(scheme.get("name", "Authorization"))))
        return AuthScheme(AuthKind.BEARER, "api_key", PyString(env), None)


def _is_object_schema(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    if declared == "object" or (isinstance(declared, list) and "object" in declared and len([t for t in declared if t != "null"]) == 1):
        return "properties" in schema or "allOf" in schema or not schema.get("additionalProperties")
    return "properties" in schema or ("allOf" in schema and not declared)


def nullable_object(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The object of an ``anyOf``/``oneOf`` of one object schema and null, else None."""
    for key in ("anyOf", "oneOf"):
        members = schema.get(key)
        if isinstance(members, list) and len(members) == 2:
            nulls = [m for m in members if isinstance(m, Mapping) and m.get("type") == "null"]
            objects = [m for m in members if isinstance(m, Mapping) and "$ref" not in m and _is_object_schema(m)]
            if len(nulls) == 1 and len(objects) == 1:
                return objects[0]
    return None


def _is_literal_value(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and value is not None


def _safe_label(label: str) -> str:
    """The spec path as the header shows it: printable, one line."""
    return "".join(ch if ch.isprintable() else "?" for ch in label.replace("\\", "/"))


def lower(spec: LoadedSpec, config: Config) -> Api:
    return Lowering(spec, config).lower()
