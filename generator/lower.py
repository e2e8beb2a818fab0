"""Stage 2: lower a loaded spec into the frozen IR (``ir.Api``).

Works on the validated plain document so that OpenAPI 3.0 and 3.1 share one code path; every
name is chosen through ``naming`` and every problem is reported with its JSON pointer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import __version__, naming
from .config import Config
from .docs import distribution, operation_examples
from .errors import escape_pointer_token, pointer
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
    ParamStyle,
    PyString,
    Resource,
    StreamFormat,
    StreamSpec,
    TypeKind,
    TypeRef,
    union,
)
from .load import LoadedSpec
from .resources import OperationKey, place, url_path

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
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

    def __init__(self, spec: LoadedSpec, config: Config, model_classes: Mapping[str, str] | None,
                 model_modules: Mapping[str, str] | None = None, default_module: str = "") -> None:
        self.spec = spec
        self.config = config
        self.document = spec.document
        self.problems: list[tuple[str, str, str]] = []
        self.schemas: Mapping[str, Any] = self.document.get("components", {}).get("schemas", {}) or {}
        self.model_classes = model_classes
        self.model_modules = model_modules or {}
        self.default_module = default_module  # of a schema model_modules does not name
        self.class_names_taken: set[str] = set()
        self.model_names = self._name_models()
        self.hoisted: list[Model] = []
        self.hoisted_by_text: dict[str, Model] = {}
        self.schema_keys_taken = {name.lower() for name in self.schemas}

    # -- models --------------------------------------------------------------------------

    def _name_models(self) -> dict[str, str]:
        """Class name for every component schema, keyed by its ``$ref``.

        The models stage reports the class each ``$ref`` became (``model_classes``); until it
        has run (the first, provisional lowering) names are only placeholders.
        """
        names: dict[str, str] = {}
        for name in self.schemas:
            ref = _SCHEMA_PREFIX + naming.escape_ref_token(name)
            names[ref] = self._class_for(ref, name)
        return names

    def _class_for(self, ref: str, name: str) -> str:
        if self.model_classes is not None and ref in self.model_classes:
            return self.model_classes[ref]
        return naming.unique(naming.pascal_identifier(name), self.class_names_taken, separator="")

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
                model = TypeRef(TypeKind.MODEL, model=name, module=self.model_modules.get(ref, self.default_module))
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
        keys: list[OperationKey] = []
        raw: dict[OperationKey, Mapping[str, Any]] = {}
        for path, item in (self.document.get("paths") or {}).items():
            if not isinstance(item, Mapping):
                continue
            for http_method in HTTP_METHODS:
                operation = item.get(http_method)
                if isinstance(operation, Mapping):
                    key = OperationKey(str(path), http_method, str(operation.get("operationId") or ""))
                    keys.append(key)
                    raw[key] = operation
        placements = place(keys)
        by_resource: dict[tuple[str, ...], list[Operation]] = {}
        taken_methods: dict[tuple[str, ...], set[str]] = {}
        for key in keys:
            placement = placements[key]
            taken = taken_methods.setdefault(placement.resource, set(naming.RESERVED_METHOD_NAMES))
            name = naming.unique(placement.method, taken)
            by_resource.setdefault(placement.resource, []).append(self._operation(key, raw[key], name))
        api = Api(
            package=self.config.package,
            client_class=self.config.client_class,
            async_client_class=self.config.async_client_name,
            title=PyString(str((self.document.get("info") or {}).get("title", ""))),
            version=PyString(self.config.version or str((self.document.get("info") or {}).get("version", ""))),
            spec_label=_safe_label(self.config.spec_label),
            generator_version=__version__,
            base_url=PyString(self._base_url()),
            base_url_env=PyString(self.config.base_url_env) if self.config.base_url_env else None,
            auth=self._auth(),
            resources=self._resource_tree(by_resource),
            distribution=distribution(self.config, self.document.get("info") or {}),
            models=tuple(Model(name, ref, "", self.model_modules.get(ref, self.default_module)) for ref, name in self.model_names.items())
            + tuple(self.hoisted),
        )
        if self.problems:
            raise self.spec.fail(self.problems)
        return api

    def _resource_tree(self, by_resource: dict[tuple[str, ...], list[Operation]]) -> tuple[Resource, ...]:
        """Nest resources by attribute path; parents without operations of their own still exist."""
        paths = set(by_resource)
        for path in list(paths):
            paths |= {path[:i] for i in range(1, len(path))}
        # A resource module imports models by name: a resource class must not shadow one.
        model_classes = set(self.model_names.values()) | {m.class_name for m in self.hoisted}
        taken_classes = set(model_classes)

        def class_name(path: tuple[str, ...]) -> str:
            name = naming.pascal_identifier("_".join(path), fallback="Resource")
            return naming.unique(name + "Resource" if name in model_classes else name, taken_classes, separator="")

        class_names = {path: class_name(path) for path in sorted(paths, key=lambda p: (len(p), p))}
        modules: set[str] = set()
        module_of = {
            top: naming.unique(naming.snake_identifier(top[0], fallback="resource"), modules)
            for top in sorted(p for p in paths if len(p) == 1)
        }

        children_of: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for child in sorted(paths):  # once, not once per resource (5,000 operations made that quadratic)
            children_of.setdefault(child[:-1], []).append(child)

        def build(path: tuple[str, ...]) -> Resource:
            children = tuple(build(child) for child in children_of.get(path, ()))
            attribute = path[-1] + "_" if path[-1] in naming.RESERVED_ATTRIBUTES else path[-1]
            return Resource(attribute, class_names[path], module_of[path[:1]], tuple(by_resource.get(path, ())), children)

        return tuple(build(top) for top in sorted(module_of))

    def _operation(self, key: OperationKey, operation: Mapping[str, Any], name: str) -> Operation:
        where = pointer("paths", key.path, key.http_method)
        hint = naming.pascal_identifier(key.operation_id or f"{key.http_method}_{url_path(key.path)}", fallback="Operation")
        taken_params = set(naming.RESERVED_PARAMETER_NAMES)
        params = self._parameters(key.path, operation, where, taken_params)
        body = self._body(operation, where, taken_params, hint)
        response_type, stream_content, accept = self._success_response(operation, where, hint)
        stream = self._stream(operation, where, body, stream_content)
        path_template = url_path(key.path)
        for param in params:
            if param.location is ParamLocation.PATH:
                path_template = path_template.replace("{" + param.wire_name.text + "}", "{" + param.name + "}")
        fixed_query = tuple((PyString(k), PyString(v)) for k, v in parse_qsl(urlsplit(key.path).query, keep_blank_values=True))
        return Operation(
            method_name=name,
            http_method=key.http_method,
            path=PyString(path_template),
            operation_id=key.operation_id,
            pointer=where,
            params=params,
            body=body,
            response_type=response_type,
            stream=stream,
            docstring=self._docstring(operation, params + (body.fields if body else ()), body),
            deprecated=operation.get("deprecated") is True,
            fixed_query=fixed_query,
            accept=PyString(accept) if accept else None,
            examples=operation_examples(self, key.path, operation, params, body, stream),
        )

    def _parameters(self, path: str, operation: Mapping[str, Any], where: str, taken: set[str]) -> tuple[Param, ...]:
        declared: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
        path_item = self.document["paths"][path]
        for source, items in ((pointer("paths", path), path_item.get("parameters")), (where, operation.get("parameters"))):
            for index, raw in enumerate(items or []):
                at = f"{source}/parameters/{index}"
                resolved = self.resolve(raw["$ref"]) if isinstance(raw, Mapping) and "$ref" in raw else raw
                if not isinstance(resolved, Mapping) or "name" not in resolved:
                    self.problems.append((at, "unusable parameter", "give it a name and an 'in'"))
                    continue
                declared[(str(resolved["name"]), str(resolved.get("in")))] = (resolved, at)
        url = url_path(path)
        params = []
        # Path parameters first, in the order the path names them: they are positional.
        ordered = sorted(declared.items(), key=lambda item: (item[0][1] != "path", url.find("{" + item[0][0] + "}")))
        for (wire_name, location), (raw, at) in ordered:
            try:
                kind = ParamLocation(location)
            except ValueError:
                self.problems.append((f"{at}/in", f"unknown parameter location {location!r}", "use path, query, header or cookie"))
                continue
            if kind is ParamLocation.PATH and "{" + wire_name + "}" not in url:
                self.problems.append((at, f"path parameter {wire_name!r} does not appear in the path {url!r}", "rename it or add it to the path"))
                continue
            schema = raw.get("schema")
            if schema is None and isinstance(raw.get("content"), Mapping) and raw["content"]:
                schema = next(iter(raw["content"].values())).get("schema")
            params.append(
                Param(
                    name=naming.unique(naming.snake_identifier(wire_name, fallback="param"), taken),
                    wire_name=PyString(wire_name),
                    location=kind,
                    type=self.type_of(schema or {}, f"{at}/schema", request=True),
                    required=kind is ParamLocation.PATH or raw.get("required") is True,
                    description=str(raw.get("description", "")),
                    style=_style(kind, raw),
                )
            )
        return tuple(params)

    def _body(self, operation: Mapping[str, Any], where: str, taken: set[str], hint: str) -> Body | None:
        request_body = operation.get("requestBody")
        if isinstance(request_body, Mapping) and "$ref" in request_body:
            request_body = self.resolve(request_body["$ref"])
        if not isinstance(request_body, Mapping):
            return None
        content = request_body.get("content") or {}
        if not isinstance(content, Mapping) or not content:
            return None
        content_type = min(content, key=_content_preference)
        encoding = _encoding(content_type)
        others = tuple(ct for ct in content if ct != content_type)
        at = f"{where}/requestBody/content/{escape_pointer_token(content_type)}/schema"
        media = content[content_type] if isinstance(content[content_type], Mapping) else {}
        schema = media.get("schema", {})
        body_required = request_body.get("required") is True
        if encoding is BodyEncoding.BINARY:
            kind = TypeKind.STR if content_type.startswith("text/") else TypeKind.BYTES
            whole = Param(naming.unique("content", taken), PyString("content"), ParamLocation.BODY,
                          union(TypeRef(kind), TypeRef(TypeKind.BYTES)), body_required,
                          f"The request body, sent as {content_type}.")
            return Body(PyString(content_type), encoding, (), whole, others)
        properties, required = self._object_properties(schema)
        if properties is None:
            whole_type = self._named_type(schema, at, f"{hint}Body", request=True)
            whole = Param(naming.unique("body", taken), PyString("body"), ParamLocation.BODY, whole_type, body_required)
            return Body(PyString(content_type), encoding, (), whole, others)
        fields = []
        for prop, prop_schema in properties.items():
            is_file = encoding is BodyEncoding.MULTIPART and self._is_file_schema(prop_schema)
            prop_type = self._file_type(prop_schema) if is_file else self.type_of(prop_schema, f"{at}/properties/{escape_pointer_token(prop)}", request=True)
            fields.append(
                Param(
                    name=naming.unique(naming.snake_identifier(prop, fallback="field"), taken),
                    wire_name=PyString(prop),
                    location=ParamLocation.BODY,
                    type=prop_type,
                    required=body_required and prop in required,
                    description=self._description(prop_schema),
                    is_file=is_file,
                )
            )
        return Body(PyString(content_type), encoding, tuple(fields), None, others)

    def _object_properties(self, schema: Any, depth: int = 0) -> tuple[dict[str, Any] | None, set[str]]:
        """The properties of an object schema (allOf members merged), or None if it is not one."""
        if isinstance(schema, Mapping) and "$ref" in schema:
            schema = self.resolve(schema["$ref"])
        if not isinstance(schema, Mapping) or depth > 20:
            return None, set()
        if any(key in schema for key in ("oneOf", "anyOf")) or not (_is_object_schema(schema) or "allOf" in schema):
            return None, set()
        properties: dict[str, Any] = {}
        required: set[str] = set()
        for member in schema.get("allOf") or []:
            inner, inner_required = self._object_properties(member, depth + 1)
            if inner is None:
                return None, set()
            properties.update(inner)
            required |= inner_required
        properties.update(schema.get("properties") or {})
        required |= {r for r in schema.get("required") or [] if isinstance(r, str)}
        return properties, required

    def _is_file_schema(self, schema: Any) -> bool:
        if isinstance(schema, Mapping) and "$ref" in schema:
            schema = self.resolve(schema["$ref"])
        if not isinstance(schema, Mapping):
            return False
        if schema.get("type") == "array" or "items" in schema:
            return self._is_file_schema(schema.get("items"))
        if any(self._is_file_schema(m) for key in ("anyOf", "oneOf") for m in schema.get(key) or []):
            return True
        return schema.get("format") == "binary" or "contentMediaType" in schema or schema.get("contentEncoding") == "base64"

    def _file_type(self, schema: Any) -> TypeRef:
        if isinstance(schema, Mapping) and "$ref" in schema:
            schema = self.resolve(schema["$ref"])
        if isinstance(schema, Mapping) and (schema.get("type") == "array" or "items" in schema):
            return TypeRef(TypeKind.LIST, (TypeRef(TypeKind.FILE),))
        return TypeRef(TypeKind.FILE)

    def _named_type(self, schema: Any, where: str, name_hint: str, request: bool = False) -> TypeRef:
        """Like ``type_of``, but an inline object schema becomes a model class named from the hint."""
        if isinstance(schema, Mapping) and "$ref" not in schema:
            is_object = bool(schema.get("properties")) and _is_object_schema(schema)
            if is_object or ("allOf" in schema and schema.get("type") in (None, "object")):
                model = self._hoist(schema, name_hint)
                result = union(model, TypeRef(TypeKind.DICT, (TypeRef(TypeKind.OBJECT),))) if request else model
                return union(result, _NONE) if schema.get("nullable") is True else result
            if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
                items = self._named_type(schema["items"], f"{where}/items", f"{name_hint}Item", request)
                return TypeRef(TypeKind.LIST, (items,))
            inner = nullable_object(schema)
            if inner is not None and inner.get("properties"):
                return union(self._hoist(inner, name_hint), _NONE)
        return self.type_of(schema, where, request=request)

    def _hoist(self, schema: Mapping[str, Any], name_hint: str) -> TypeRef:
        """Give an inline schema a model class (the models stage adds it as a component)."""
        text = json.dumps(schema, sort_keys=False, ensure_ascii=False, default=str)
        existing = self.hoisted_by_text.get(text)
        if existing is None:
            # The component key the models stage sees; the class it becomes may differ.
            key = naming.unique(naming.pascal_identifier(name_hint), self.schema_keys_taken, separator="", casefold=True)
            ref = _SCHEMA_PREFIX + naming.escape_ref_token(key)
            existing = Model(self._class_for(ref, key), ref, text, self.model_modules.get(ref, self.default_module))
            self.hoisted_by_text[text] = existing
            self.hoisted.append(existing)
        return TypeRef(TypeKind.MODEL, model=existing.class_name, module=existing.module)

    def _success_response(self, operation: Mapping[str, Any], where: str, hint: str) -> tuple[TypeRef, Mapping[str, Any] | None, str]:
        """What a successful call returns, the streaming content if any, and a non-JSON Accept."""
        responses = operation.get("responses") or {}
        if not responses:
            self.problems.append((f"{where}/responses", "the operation declares no responses", "declare at least one response"))
        types: list[TypeRef] = []
        stream_content: Mapping[str, Any] | None = None
        accept = ""
        for status in sorted(str(s) for s in responses):
            if not (status.startswith("2") or status.upper() == "2XX"):
                continue
            response = responses.get(status, responses.get(int(status)) if status.isdigit() else None)
            if isinstance(response, Mapping) and "$ref" in response:
                response = self.resolve(response["$ref"])
            content = (response or {}).get("content") or {}
            stream_type = next((ct for ct in content if ct.startswith(_STREAM_TYPES)), None)
            if stream_type and stream_content is None:
                stream_content = {"media_type": stream_type, **(content[stream_type] or {})}
            json_type = next((ct for ct in content if _is_json(ct)), None)
            if json_type:
                at = f"{where}/responses/{status}/content/{escape_pointer_token(json_type)}/schema"
                suffix = "Response" if not types else f"Response{status}"
                types.append(self._named_type((content[json_type] or {}).get("schema", {}), at, hint + suffix))
            elif content and not stream_type:
                other = next(iter(content))
                accept = accept or other
                types.append(TypeRef(TypeKind.STR) if other.startswith("text/") else TypeRef(TypeKind.BYTES))
            elif not content and not stream_type:
                types.append(_NONE)
        result = union(*types) if types else _NONE
        if result.kind is TypeKind.UNION and _NONE in result.args and len(result.args) > 1 and not stream_content:
            result = union(*[t for t in result.args if t != _NONE])  # 200 with a body, 204 without: the body
        return result, stream_content, accept

    def _stream(
        self, operation: Mapping[str, Any], where: str, body: Body | None, stream_content: Mapping[str, Any] | None
    ) -> StreamSpec | None:
        # Every way a spec (or the configuration) declares streaming: see generator/streaming.py.
        from .streaming import lower_stream  # noqa: PLC0415 - streaming imports this module's names lazily too

        return lower_stream(self, operation, where, body)

    def _docstring(self, operation: Mapping[str, Any], params: tuple[Param, ...], body: Body | None = None) -> Docstring:
        lines: list[str] = []
        for key in ("summary", "description"):
            text = str(operation.get(key) or "").strip()
            if text and text not in "\n".join(lines):
                lines.extend([*text.splitlines(), ""])
        if body and body.other_content_types:
            # Only one request encoding becomes the signature; say which, and what else the API takes.
            lines.extend([f"Sends {body.content_type.text}; the API also accepts "
                          f"{', '.join(body.other_content_types)} (use extra_body/extra_headers).", ""])
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


_STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl", "application/json-seq")
_BODY_PREFERENCE = ("json", "multipart/form-data", "application/x-www-form-urlencoded")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _content_preference(content_type: str) -> int:
    if _is_json(content_type):
        return 0
    media = content_type.split(";")[0].strip().lower()
    return _BODY_PREFERENCE.index(media) if media in _BODY_PREFERENCE else len(_BODY_PREFERENCE)


def _encoding(content_type: str) -> BodyEncoding:
    media = content_type.split(";")[0].strip().lower()
    if _is_json(media):
        return BodyEncoding.JSON
    if media == "multipart/form-data":
        return BodyEncoding.MULTIPART
    if media == "application/x-www-form-urlencoded":
        return BodyEncoding.FORM
    return BodyEncoding.BINARY


def _style(location: ParamLocation, raw: Mapping[str, Any]) -> ParamStyle:
    if location is not ParamLocation.QUERY:
        return ParamStyle.DEFAULT
    style = raw.get("style", "form")
    explode = raw.get("explode", style == "form")
    if style == "deepObject":
        return ParamStyle.DEEP_OBJECT
    if style == "spaceDelimited":
        return ParamStyle.SPACE_DELIMITED
    if style == "pipeDelimited":
        return ParamStyle.PIPE_DELIMITED
    return ParamStyle.DEFAULT if explode else ParamStyle.FORM


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


def lower(spec: LoadedSpec, config: Config, model_classes: Mapping[str, str] | None = None,
          model_modules: Mapping[str, str] | None = None, default_module: str = "") -> Api:
    """The IR; ``model_classes``/``model_modules`` map each schema ``$ref`` to the class the
    models stage made and the module it is in (``default_module`` for the others)."""
    return Lowering(spec, config, model_classes, model_modules, default_module).lower()
