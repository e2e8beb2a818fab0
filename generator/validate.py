"""Stage 1b: check a loaded spec as a whole, between ``load`` and ``lower``.

Every problem in the document is collected in one run and reported together, each with its
place (file, line, column, JSON pointer), what is wrong and what to do:

- *errors* are what would make the generated code wrong or the later stages fail: a ``$ref``
  that points nowhere, a path parameter missing from its path, an unknown ``type``, a
  schema nested beyond what the generator handles, ...;
- *warnings* are places where the generator guessed and the code it writes is still right:
  an unknown ``format`` (treated as its base type), ``nullable`` in a 3.1 document, a
  numeric ``exclusiveMinimum`` in a 3.0 document, a response without a description, ...
  (``--strict`` makes them errors).

Conformance to the OpenAPI schema (openapi-pydantic) is checked here too. Its findings are
warnings: the checks of this module decide what the generator cannot work with, so that
real-world documents with harmless slips still generate.

After ``validate`` passes, ``lower`` may rely on the shapes it reads: mappings where it
calls ``.get``, lists where it iterates, string keys and ``$ref``s, finite numbers, no
nesting deeper than ``MAX_DEPTH`` and no more than ``MAX_NODES`` values (YAML aliases
included, so a "billion laughs" document is refused instead of expanded).
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import Severity, SpecError, SpecProblem, escape_pointer_token
from .load import MAX_DEPTH, MAX_NODES, LoadedSpec, split_pointer
from .naming import MAX_NAME_LENGTH

MAX_REF_CHAIN = 64  # schemas that are only a $ref to the next one

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")
TYPES_30 = ("string", "number", "integer", "boolean", "array", "object")
TYPES_31 = (*TYPES_30, "null")
# Formats the models stage knows (datamodel-code-generator 0.89.0) and those of the OpenAPI
# format registry, for which the base type is the right Python type.
KNOWN_FORMATS = frozenset(
    {
        "base64url", "binary", "byte", "char", "commonmark", "date", "date-time", "date-time-local",
        "decimal", "decimal128", "double", "duration", "email", "float", "hostname", "html",
        "http-date", "idn-email", "idn-hostname", "int16", "int32", "int64", "int8", "integer",
        "ipv4", "ipv4-network", "ipv6", "ipv6-network", "iri", "iri-reference", "json-pointer",
        "media-range", "password", "path", "regex", "relative-json-pointer", "sf-binary",
        "sf-boolean", "sf-decimal", "sf-integer", "sf-string", "sf-token", "time", "time-delta",
        "time-local", "timestamp with time zone", "uint16", "uint32", "uint64", "uint8", "ulid",
        "unix-time", "unixtime", "uri", "uri-reference", "uri-template", "uuid", "uuid1", "uuid2",
        "uuid3", "uuid4", "uuid5",
    }
)
# Keywords whose value is a schema, a list of schemas, or a mapping of names to schemas.
_SCHEMA_KEYWORDS = ("not", "additionalProperties", "items", "contains", "if", "then", "else", "propertyNames",
                    "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema")
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
# Keywords whose value is a count.
_COUNT_KEYWORDS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains")
# Keywords whose value is data, where a "$ref" key is just data.
_DATA_KEYWORDS = frozenset({"example", "default", "enum", "const"})
_STATUS = re.compile(r"^(?:[1-5][0-9][0-9]|[1-5]XX|default)$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token
_SURROGATE = re.compile("[\ud800-\udfff]")


def validate(spec: LoadedSpec, *, strict: bool = False, extra: Iterable[tuple[str, str, str]] = ()) -> tuple[SpecProblem, ...]:
    """The warnings about ``spec``; raises ``SpecError`` with every problem if there is an error.

    ``extra`` are warnings found before, ``(pointer, message, hint)``, reported with the rest.
    With ``strict`` every warning is an error.
    """
    problems = Checker(spec, strict=strict, extra=extra).run()
    if strict:
        problems = [p.as_error() for p in problems]
    if any(not p.is_warning for p in problems):
        raise SpecError(problems)
    return tuple(problems)


class _Fatal(Exception):
    """The document cannot be looked at any further (too deep, too big)."""


class Checker:
    """One validation run over one document; collects problems, never stops at the first."""

    def __init__(self, spec: LoadedSpec, strict: bool = False, extra: Iterable[tuple[str, str, str]] = ()) -> None:
        self.spec = spec
        self.extra = tuple(extra)
        self.document = spec.document
        self.is_31 = spec.version.startswith(("3.1.", "3.2."))  # 3.2 keeps 3.1's JSON Schema dialect
        self.strict = strict
        self.found: list[tuple[str, str, str, Severity]] = []  # (pointer, message, hint, severity)
        self.grouped: dict[str, tuple[str, str, str, int]] = {}  # group -> (first pointer, message, hint, count)
        self.operation_ids: dict[str, str] = {}
        self.places: set[str] = set()  # every pointer this module reported something at
        self.ids: dict[str, Any] = {}  # 3.1 schemas by $id, and $anchor names (after the size check)
        self.anchors: set[str] = set()

    # -- reporting --------------------------------------------------------------------------

    def error(self, where: str, message: str, hint: str = "") -> None:
        self.found.append((where, message, hint, Severity.ERROR))
        self.places.add(where)

    def warn(self, where: str, message: str, hint: str = "", group: str = "") -> None:
        """A warning; those of one ``group`` are reported once, at the first place, with a
        count (each place is listed under ``--strict``, where they are errors)."""
        self.places.add(where)
        if not group or self.strict:
            self.found.append((where, message, hint, Severity.WARNING))
        elif group in self.grouped:
            first, first_message, first_hint, count = self.grouped[group]
            self.grouped[group] = (first, first_message, first_hint, count + 1)
        else:
            self.grouped[group] = (where, message, hint, 1)

    def run(self) -> list[SpecProblem]:
        try:
            self.check_data()
        except _Fatal:
            return self._problems(list(self.spec.parse_problems))
        self.ids, self.anchors = _ids_and_anchors(self.document)
        for where, message, hint in self.extra:
            self.warn(where, message, hint)
        conformance = self.conformance()
        self.check_document()
        self.check_refs()
        for where, message, hint, count in self.grouped.values():
            more = f"; {count - 1} more place{'s' if count > 2 else ''} like this" if count > 1 else ""
            self.found.append((where, message + more, hint, Severity.WARNING))
        # A conformance finding where this module found something already says it twice.
        own = self.places
        around = {prefix for where in own for prefix in _prefixes(where)}  # the places that contain them
        for item in conformance:
            if item[0] not in own and item[0] not in around and not own.intersection(_prefixes(item[0])):
                self.found.append(item)
        return self._problems(list(self.spec.parse_problems))

    def _problems(self, first: list[SpecProblem]) -> list[SpecProblem]:
        seen: set[tuple[str, str]] = set()
        problems = list(first)
        for where, message, hint, severity in self.found:
            if (where, message) in seen:
                continue
            seen.add((where, message))
            problems.append(self.spec.problem(where, message, hint, severity))
        return sorted(problems, key=lambda p: p.sort_key)

    # -- data: keys, value types, size, depth ----------------------------------------------

    def check_data(self) -> None:
        """Every key a string, every value JSON data; bounded depth and size. Iterative."""
        count = 0
        stack: list[tuple[Any, str, int, bool]] = [(self.document, "#", 1, False)]
        while stack:
            node, where, depth, status_keys = stack.pop()
            count += 1
            if count > MAX_NODES or depth > MAX_DEPTH:  # load_spec refuses these; a document made in memory may not
                self.error(where, f"more than {MAX_NODES:,} values, or nested more than {MAX_DEPTH} levels deep",
                           "move nested schemas into components/schemas and $ref them")
                raise _Fatal
            if isinstance(node, dict):
                for key, value in node.items():
                    if isinstance(key, str):
                        child = f"{where}/{escape_pointer_token(key)}"
                        if _SURROGATE.search(key):
                            self._surrogate(child, key, "key")
                    else:
                        spelled = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
                        child = f"{where}/{escape_pointer_token(spelled)}"
                        if not (status_keys and type(key) is int and 100 <= key <= 599):
                            self.error(child, f"the key {spelled} is {'null' if key is None else 'a ' + _kind(key)}, not a string",
                                       f"quote it: '{spelled}'")
                    stack.append((value, child, depth + 1, key == "responses" and isinstance(value, dict)))
            elif isinstance(node, list):
                stack.extend((value, f"{where}/{i}", depth + 1, False) for i, value in enumerate(node))
            elif isinstance(node, str):
                if _SURROGATE.search(node):
                    self._surrogate(where, node, "text")
            elif isinstance(node, float):
                if not math.isfinite(node):
                    self.error(where, f"{node} is not a JSON number", "use a finite number, or a string")
            elif node is not None and not isinstance(node, (bool, int)):
                self.error(where, f"a YAML {type(node).__name__} value is not JSON data", "quote it as a string")

    def _surrogate(self, where: str, text: str, what: str) -> None:
        match = _SURROGATE.search(text)
        assert match is not None
        self.error(where, f"the {what} contains a lone UTF-16 surrogate \\u{ord(match.group()):04x}, which is not valid Unicode",
                   "write the character itself, or a complete surrogate pair")

    # -- conformance (openapi-pydantic) -----------------------------------------------------

    def conformance(self) -> list[tuple[str, str, str, Severity]]:
        from openapi_pydantic import parse_obj  # imported here: only this check needs it
        import pydantic

        if self.spec.version.startswith("3.2."):
            return []  # openapi-pydantic 0.6 knows no OpenAPI 3.2 (itemSchema, ...): the checks here still run
        try:
            parse_obj(dict(self.document))
        except pydantic.ValidationError as exc:
            errors = exc.errors()
        except (RecursionError, ValueError, TypeError):
            return []
        else:
            return []
        found: list[tuple[str, str, str, Severity]] = []
        seen: set[tuple[str, str]] = set()
        version = "3.1" if self.is_31 else "3.0"
        for error in errors:
            located = _locate_pydantic_error(self.document, error["loc"][1:], error.get("input"))
            if located is None:
                continue  # the error of a union branch that does not apply here
            where, missing = located
            if (where, missing) in seen:
                continue
            seen.add((where, missing))
            found.append(self._conformance_problem(where, missing, error, version))
        return found

    def _conformance_problem(self, where: str, missing: str, error: Any, version: str) -> tuple[str, str, str, Severity]:
        hint = "sdkforge carries on; fix it for other OpenAPI tools"
        last = split_pointer(where)[-1:] or [""]
        if missing:
            return (where, f"not valid OpenAPI {version}: missing required field {missing!r}", hint, Severity.WARNING)
        value = error.get("input")
        message = str(error.get("msg", "invalid")).replace("Input should be", "should be")
        return (where, f"not valid OpenAPI {version}: {last[0] or 'the document'} {message[:1].lower()}{message[1:]}, got {_show(value)}",
                hint, Severity.WARNING)

    # -- the document ------------------------------------------------------------------------

    def mapping(self, node: Any, where: str, what: str, hint: str = "") -> bool:
        """Whether ``node`` is a mapping; reports an error if it is something else."""
        if isinstance(node, dict):
            return True
        if node is None:
            self.error(where, f"{what} is empty (null)", "remove the empty key, or give it its content")
        else:
            self.error(where, f"{what} must be a mapping, not {_describe(node)}", hint or "see the OpenAPI specification")
        return False

    def listing(self, node: Any, where: str, what: str) -> bool:
        if isinstance(node, list):
            return True
        self.error(where, f"{what} must be a list, not {_describe(node)}", "write it as a YAML/JSON list")
        return False

    def check_document(self) -> None:
        doc = self.document
        if "info" in doc:
            self.mapping(doc["info"], "#/info", "info")
        if "servers" in doc:
            self.check_servers(doc["servers"], "#/servers")
        for key in ("tags", "security"):
            if key in doc and self.listing(doc[key], f"#/{key}", key):
                for i, item in enumerate(doc[key]):
                    self.mapping(item, f"#/{key}/{i}", f"each entry of {key}")
        components = doc.get("components", {})
        if "components" in doc and self.mapping(components, "#/components", "components"):
            self.check_components(components)
        paths = doc.get("paths", {})
        if "paths" in doc and self.mapping(paths, "#/paths", "paths"):
            for path, item in paths.items():
                self.check_path(str(path), item)
        webhooks = doc.get("webhooks", {})
        if isinstance(webhooks, dict):
            for name, item in webhooks.items():
                if isinstance(item, dict):
                    self.check_path_item_schemas(item, _ptr("webhooks", name))

    def check_servers(self, servers: Any, where: str) -> None:
        if not self.listing(servers, where, "servers"):
            return
        for i, server in enumerate(servers):
            at = f"{where}/{i}"
            if not self.mapping(server, at, "a server"):
                continue
            url = server.get("url")
            if not isinstance(url, str):
                self.error(f"{at}/url" if "url" in server else at, "a server needs a 'url' string", "add url: https://api.example.com")
                continue
            variables = server.get("variables", {})
            if not self.mapping(variables, f"{at}/variables", "server variables"):
                continue
            for name, variable in variables.items():
                if self.mapping(variable, f"{at}/variables/{escape_pointer_token(str(name))}", "a server variable") and "default" not in variable:
                    self.error(f"{at}/variables/{escape_pointer_token(str(name))}", f"server variable {name!r} has no default",
                               "add a default value")
            for name in _PLACEHOLDER.findall(url):
                if name not in variables:
                    self.error(f"{at}/url", f"the server URL uses {{{name}}} but no server variable {name!r} is declared",
                               f"declare variables: {{{name}: {{default: ...}}}} or write the value into the URL")

    def check_components(self, components: Mapping[str, Any]) -> None:
        for section in ("schemas", "parameters", "responses", "requestBodies", "headers", "securitySchemes",
                        "examples", "links", "callbacks", "pathItems"):
            if section in components:
                self.mapping(components[section], _ptr("components", section), f"components/{section}")
        schemas = components.get("schemas", {})
        if isinstance(schemas, dict):
            for name, schema in schemas.items():
                if len(str(name)) > MAX_NAME_LENGTH:
                    self.error(_ptr("components", "schemas", name),
                               f"the schema name is {len(str(name)):,} characters long; the model's class and module file are named after it",
                               f"use a name of at most {MAX_NAME_LENGTH} characters")
                self.check_schema(schema, _ptr("components", "schemas", name))
        for section, check in (("parameters", self.check_parameter), ("responses", self.check_response),
                               ("requestBodies", self.check_request_body), ("headers", self.check_header)):
            entries = components.get(section, {})
            if isinstance(entries, dict):
                for name, entry in entries.items():
                    check(entry, _ptr("components", section, name))
        schemes = components.get("securitySchemes", {})
        if isinstance(schemes, dict):
            for name, scheme in schemes.items():
                at = _ptr("components", "securitySchemes", name)
                if self.mapping(scheme, at, "a security scheme") and not isinstance(scheme.get("type", scheme.get("$ref")), str):
                    self.error(at, f"security scheme {name!r} has no 'type'", "add type: http, apiKey, oauth2 or openIdConnect")

    # -- paths and operations ---------------------------------------------------------------

    def check_path(self, path: str, item: Any) -> None:
        at = _ptr("paths", path)
        if not path.startswith("/"):
            self.error(at, f"the path {path!r} does not start with '/'", f"write it as '/{path}'")
        if not self.mapping(item, at, "a path item"):
            return
        if "$ref" in item:
            self.error(f"{at}/$ref", "a $ref in a path item is not supported", "write the operations into the path item")
            return
        placeholders = _PLACEHOLDER.findall(path)
        template_ok = self.check_template(path, at, placeholders)
        path_level = self.parameters(item.get("parameters"), f"{at}/parameters")
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op_at = f"{at}/{method}"
            operation = item[method]
            if not self.mapping(operation, op_at, f"the {method.upper()} operation"):
                continue
            params = dict(path_level)
            params.update(self.parameters(operation.get("parameters"), f"{op_at}/parameters"))
            self.check_operation(operation, op_at)
            declared = {name for (name, location) in params if location == "path"}
            for (name, location), param_at in params.items():
                if location == "path" and name not in placeholders:
                    self.error(param_at, f"path parameter {name!r} does not appear in the path {path!r}",
                               f"add {{{name}}} to the path, or change 'in: path'")
            if template_ok:
                for name in dict.fromkeys(placeholders):
                    if name not in declared:
                        self.error(op_at, f"the path has a placeholder {{{name}}} but the operation declares no path parameter {name!r}",
                                   f"add a parameter with name: {name}, in: path, required: true")

    def check_template(self, path: str, at: str, placeholders: list[str]) -> bool:
        stripped = _PLACEHOLDER.sub("", path)
        if "{" in stripped or "}" in stripped:
            self.error(at, f"the path {path!r} has an unbalanced '{{' or '}}'", "write each placeholder as {name}")
            return False
        for name in placeholders:
            if not name.strip():
                self.error(at, f"the path {path!r} has an empty placeholder {{}}", "name it, e.g. {id}")
                return False
        repeated = sorted({name for name in placeholders if placeholders.count(name) > 1})
        if repeated:
            self.error(at, f"the path {path!r} uses the placeholder {{{repeated[0]}}} twice", "give each placeholder its own name")
            return False
        return True

    def check_path_item_schemas(self, item: Mapping[str, Any], at: str) -> None:
        """The bodies and responses of a webhook's operations (not made into methods)."""
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                for key, value in operation.items():
                    if key == "requestBody":
                        self.check_request_body(value, f"{at}/{method}/requestBody")
                    elif key == "responses" and isinstance(value, dict):
                        for status, response in value.items():
                            self.check_response(response, f"{at}/{method}/responses/{escape_pointer_token(str(status))}")

    def parameters(self, items: Any, at: str) -> dict[tuple[str, str], str]:
        """Check a parameter list; its parameters by (name, location), with their pointers."""
        found: dict[tuple[str, str], str] = {}
        if items is None:
            return found
        if not self.listing(items, at, "parameters"):
            return found
        for i, raw in enumerate(items):
            param_at = f"{at}/{i}"
            param = self.check_parameter(raw, param_at)
            if param is None:
                continue
            key = (param["name"], param["in"])
            if key in found:
                self.error(param_at, f"the {param['in']} parameter {param['name']!r} is declared twice (also at {found[key]})",
                           "remove one of them")
                continue
            found[key] = param_at
        return found

    def check_parameter(self, raw: Any, at: str) -> Mapping[str, Any] | None:
        if not self.mapping(raw, at, "a parameter"):
            return None
        param = raw
        if "$ref" in raw:
            param = self.follow(raw, at)
            if not isinstance(param, dict):
                return None  # the $ref check reports where it points
            if "name" not in param and "in" not in param:
                return None
        name, location = param.get("name"), param.get("in")
        if not isinstance(name, str) or not name:
            self.error(f"{at}/name" if "name" in param else at, "a parameter needs a non-empty 'name' string", "add name: ...")
            return None
        if location not in PARAMETER_LOCATIONS:
            self.error(f"{at}/in" if "in" in param else at,
                       f"parameter {name!r} has {'no location' if location is None else f'the location {_show(location)}'}",
                       "use in: path, query, header or cookie" + ("; a request body goes into requestBody" if location in ("body", "formData") else ""))
            return None
        if location == "path" and param.get("required") is not True and param is raw:
            self.warn(at, f"path parameter {name!r} is not marked required; path parameters always are (treated as required)",
                      "add required: true")
        if location in ("header", "cookie") and not _HEADER_NAME.match(name):
            self.error(f"{at}/name", f"{_show(name)} is not a valid HTTP {location} name",
                       "use letters, digits and - _ . only")
        if param is raw:
            if "schema" in raw:
                self.check_schema(raw["schema"], f"{at}/schema")
            elif "content" in raw:
                self.check_content(raw["content"], f"{at}/content")
            else:
                self.warn(at, f"parameter {name!r} has no schema (typed as Any)", "add schema: {type: string} or the right type")
        found: Mapping[str, Any] = param
        return found

    def check_operation(self, operation: Mapping[str, Any], at: str) -> None:
        operation_id = operation.get("operationId")
        if "operationId" in operation:
            if not isinstance(operation_id, str):
                self.error(f"{at}/operationId", f"operationId must be a string, not {_describe(operation_id)}", "quote it")
            elif operation_id in self.operation_ids:
                self.error(f"{at}/operationId", f"duplicate operationId {operation_id!r} (also used at {self.operation_ids[operation_id]})",
                           "operationIds must be unique: rename one of them")
            else:
                self.operation_ids[operation_id] = f"{at}/operationId"
        if "tags" in operation and self.listing(operation["tags"], f"{at}/tags", "tags"):
            for i, tag in enumerate(operation["tags"]):
                if not isinstance(tag, str):
                    self.error(f"{at}/tags/{i}", f"a tag must be a string, not {_describe(tag)}", "quote it")
        if "requestBody" in operation:
            self.check_request_body(operation["requestBody"], f"{at}/requestBody")
        responses = operation.get("responses")
        if not isinstance(responses, dict) or not responses:
            where = f"{at}/responses" if "responses" in operation else at
            if responses is not None and not isinstance(responses, dict):
                self.error(where, f"responses must be a mapping, not {_describe(responses)}", "map status codes to responses")
            else:
                self.error(where, "the operation declares no responses",
                           "declare at least one, e.g. responses: {'200': {description: OK}}")
            return
        for status, response in responses.items():
            status_at = f"{at}/responses/{escape_pointer_token(str(status))}"
            if not _STATUS.match(str(status)):
                self.error(status_at, f"{_show(status)} is not an HTTP status code", "use a code like '200', a range like '2XX', or 'default'")
                continue
            self.check_response(response, status_at)
        if "x-sdkforge-streaming" in operation:
            self.mapping(operation["x-sdkforge-streaming"], f"{at}/x-sdkforge-streaming", "x-sdkforge-streaming",
                         "write e.g. {param: stream, terminator: '[DONE]'}")

    def check_request_body(self, body: Any, at: str) -> None:
        if not self.mapping(body, at, "a request body") or "$ref" in body:
            return
        if "content" not in body:
            self.error(at, "the request body has no 'content'", "add content: {application/json: {schema: ...}}")
            return
        self.check_content(body["content"], f"{at}/content")

    def check_response(self, response: Any, at: str) -> None:
        if not self.mapping(response, at, "a response") or "$ref" in response:
            return
        if not isinstance(response.get("description"), str) and not self.spec.version.startswith("3.2."):  # optional in 3.2
            self.warn(at, "the response has no description (OpenAPI requires one)", "add description: ...")
        if "content" in response:
            self.check_content(response["content"], f"{at}/content")
        headers = response.get("headers", {})
        if self.mapping(headers, f"{at}/headers", "response headers"):
            for name, header in headers.items():
                self.check_header(header, f"{at}/headers/{escape_pointer_token(str(name))}")

    def check_header(self, header: Any, at: str) -> None:
        if self.mapping(header, at, "a header") and "$ref" not in header and "schema" in header:
            self.check_schema(header["schema"], f"{at}/schema")

    def check_content(self, content: Any, at: str) -> None:
        if not self.mapping(content, at, "content", "map media types to {schema: ...}"):
            return
        for media_type, entry in content.items():
            entry_at = f"{at}/{escape_pointer_token(str(media_type))}"
            if self.mapping(entry, entry_at, f"the {media_type} content", "write {schema: ...}"):
                for key in ("schema", "itemSchema"):
                    if key in entry:
                        self.check_schema(entry[key], f"{entry_at}/{key}")

    def component_schemas(self) -> Mapping[str, Any]:
        components = self.document.get("components")
        schemas = components.get("schemas") if isinstance(components, dict) else None
        return schemas if isinstance(schemas, dict) else {}

    def follow(self, node: Mapping[str, Any], at: str) -> Any:
        """What a local ``$ref`` points at (through chains), or None."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or len(seen) > MAX_REF_CHAIN:
                return None
            seen.add(ref)
            node = self.resolve(ref)
        return node

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return None
        return self._resolve_in(self.document, ref[1:])

    def _resolve_in(self, node: Any, fragment: str) -> Any:
        if fragment and not fragment.startswith("/"):
            return None
        for token in split_pointer("#" + fragment):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node

    # -- schemas -----------------------------------------------------------------------------

    def check_schema(self, schema: Any, at: str) -> None:
        """A schema and every schema inside it (iteratively: nesting is bounded, not trusted)."""
        stack = [(schema, at)]
        while stack:
            node, where = stack.pop()
            stack.extend(self._check_one_schema(node, where))

    def _check_one_schema(self, schema: Any, at: str) -> Iterator[tuple[Any, str]]:
        if isinstance(schema, bool):
            if not self.is_31:
                self.error(at, f"a boolean schema ({str(schema).lower()}) is OpenAPI 3.1", "write {} for any value, or declare openapi 3.1.0")
            return
        if not self.mapping(schema, at, "a schema", "write a schema object such as {type: string}"):
            return
        self._check_type(schema, at)
        self._check_keyword_values(schema, at)
        if "format" in schema:
            fmt = schema["format"]
            if not isinstance(fmt, str):
                self.warn(f"{at}/format", f"format must be a string, not {_describe(fmt)} (ignored)", "remove it or quote it",
                          group="format type")
            elif fmt not in KNOWN_FORMATS:
                base = schema.get("type") if isinstance(schema.get("type"), str) else "value"
                self.warn(f"{at}/format", f"unknown format {fmt!r}, treated as a plain {base}",
                          "use a registered format (e.g. date-time, uuid, int64) or remove it", group=f"format {fmt!r} {base}")
        if "nullable" in schema and self.is_31:
            self.warn(f"{at}/nullable", "'nullable' is OpenAPI 3.0; in 3.1 it is ignored by other tools (read as: null allowed)",
                      "write type: [..., 'null'] instead", group="nullable")
        if not self.is_31:
            for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
                value = schema.get(key)
                if _is_number(value) and (bound not in schema or type(value) is not int or value not in (0, 1)):
                    self.warn(f"{at}/{key}", f"a numeric {key} is OpenAPI 3.1; in 3.0 it is a boolean (read as {bound} {value}, exclusive)",
                              f"write '{bound}: {value}' and '{key}: true', or declare openapi 3.1.0", group=f"numeric {key}")
        if "nullable" in schema and not isinstance(schema["nullable"], bool):
            self.error(f"{at}/nullable", f"nullable must be true or false, not {_describe(schema['nullable'])}", "write nullable: true")
        if "enum" in schema:
            self._check_enum(schema["enum"], f"{at}/enum")
        if schema.get("default") is not None and isinstance(schema.get("type"), str):
            kind, default = schema["type"], schema["default"]
            matches = {"string": isinstance(default, str), "boolean": isinstance(default, bool),
                       "integer": type(default) is int,
                       "number": _is_number(default), "array": isinstance(default, list), "object": isinstance(default, dict)}
            if not matches.get(kind, True):
                self.warn(f"{at}/default", f"the default {_show(default)} is not a{'n' if kind[0] in 'aeiou' else ''} {kind} (left out of the models)",
                          f"write a default of type {kind}, or remove it", group="default type")
        if "required" in schema:
            self._check_required(schema, at)
        if "pattern" in schema:
            self._check_pattern(schema["pattern"], f"{at}/pattern")
        for low, high in (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems"),
                          ("minProperties", "maxProperties")):
            lo, hi = schema.get(low), schema.get(high)
            if _is_number(lo) and _is_number(hi) and lo > hi:
                self.error(f"{at}/{low}", f"{low} {lo} is greater than {high} {hi}: no value is valid", "swap or fix the bounds")
        if isinstance(schema.get("discriminator"), dict):
            self._check_discriminator(schema["discriminator"], f"{at}/discriminator")
        for key in _SCHEMA_KEYWORDS:
            if key in schema:
                value = schema[key]
                if key == "items" and isinstance(value, list):
                    self.error(f"{at}/items", "items is a list (tuple validation), which OpenAPI 3 does not allow",
                               "use prefixItems (3.1) or a single items schema")
                    continue
                if key in ("additionalProperties", "unevaluatedProperties", "unevaluatedItems", "additionalItems") and isinstance(value, bool):
                    continue
                yield value, f"{at}/{key}"
        for key in _SCHEMA_LIST_KEYWORDS:
            if key in schema:
                members = schema[key]
                if not self.listing(members, f"{at}/{key}", key):
                    continue
                if not members:
                    self.error(f"{at}/{key}", f"{key} is empty", f"list at least one schema, or remove {key}")
                yield from ((m, f"{at}/{key}/{i}") for i, m in enumerate(members))
        for key in _SCHEMA_MAP_KEYWORDS:
            if key in schema and self.mapping(schema[key], f"{at}/{key}", key, "map names to schemas"):
                yield from ((s, f"{at}/{key}/{escape_pointer_token(str(n))}") for n, s in schema[key].items())

    def _check_type(self, schema: Mapping[str, Any], at: str) -> None:
        if "type" not in schema:
            return
        declared = schema["type"]
        known = TYPES_31 if self.is_31 else TYPES_30
        kinds = declared if isinstance(declared, list) else [declared]
        if isinstance(declared, list):
            if not declared:
                self.error(f"{at}/type", "the type list is empty", "list at least one type, or remove type")
            elif not self.is_31:
                self.warn(f"{at}/type", "a list of types is OpenAPI 3.1 (read as any of them)", "use anyOf or nullable: true in 3.0")
        for i, kind in enumerate(kinds):
            where = f"{at}/type/{i}" if isinstance(declared, list) else f"{at}/type"
            if not isinstance(kind, str):
                self.error(where, f"the type must be a string, not {_describe(kind)}", "use one of " + ", ".join(TYPES_31))
            elif kind == "null" and not self.is_31:
                self.warn(where, "type 'null' is OpenAPI 3.1 (read as: null allowed)", "use nullable: true in 3.0")
            elif kind not in known:
                close = difflib.get_close_matches(kind.lower(), TYPES_31, n=1, cutoff=0.6)
                self.error(where, f"unknown type {kind!r}",
                           f"did you mean {close[0]!r}?" if close else "use one of " + ", ".join(TYPES_31))

    def _check_keyword_values(self, schema: Mapping[str, Any], at: str) -> None:
        """The values of the validation keywords have the JSON type the keywords require."""
        for key in _COUNT_KEYWORDS:
            if key in schema:
                value = schema[key]
                if not (_is_number(value) and value >= 0 and float(value).is_integer() and value < 2**53):
                    self.error(f"{at}/{key}", f"{key} must be a whole number of at least 0, not {_show(value)}", f"write e.g. {key}: 10")
        for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if self.is_31 and isinstance(schema.get(key), bool):
                value = schema.get(bound, "?")
                self.warn(f"{at}/{key}", f"a boolean {key} is OpenAPI 3.0; in 3.1 it is a number"
                          + (f" (read as {bound} {value}, exclusive)" if schema[key] else " (read as: no exclusive bound)"),
                          f"write '{key}: {value}' instead of '{bound}: {value}' and '{key}: true'", group=f"boolean {key}")
        for key in ("minimum", "maximum", "multipleOf", *(("exclusiveMinimum", "exclusiveMaximum") if self.is_31 else ())):
            if key in schema and not _is_number(schema[key]) and not (key.startswith("exclusive") and isinstance(schema[key], bool)):
                self.error(f"{at}/{key}", f"{key} must be a number, not {_describe(schema[key])}", "write a number without quotes")
        if _is_number(schema.get("multipleOf")) and schema["multipleOf"] <= 0:
            self.error(f"{at}/multipleOf", f"multipleOf must be greater than 0, not {_show(schema['multipleOf'])}", "use a positive number")
        if not self.is_31:
            for key in ("exclusiveMinimum", "exclusiveMaximum"):
                if key in schema and not isinstance(schema[key], bool) and not _is_number(schema[key]):
                    self.error(f"{at}/{key}", f"{key} must be true or false, not {_describe(schema[key])}", f"write {key}: true")
        for key in ("uniqueItems", "readOnly", "writeOnly", "deprecated"):
            if key in schema and not isinstance(schema[key], bool):
                self.error(f"{at}/{key}", f"{key} must be true or false, not {_describe(schema[key])}", f"write {key}: true")
        for key in ("title", "description"):
            if key in schema and not isinstance(schema[key], str):
                self.error(f"{at}/{key}", f"{key} must be a string, not {_describe(schema[key])}", "quote it")
        for key in ("additionalProperties", "unevaluatedProperties", "unevaluatedItems", "additionalItems"):
            if key in schema and not isinstance(schema[key], (bool, dict)):
                self.error(f"{at}/{key}", f"{key} must be true, false or a schema, not {_describe(schema[key])}", f"write {key}: false, or a schema")
        if "discriminator" in schema:
            self.mapping(schema["discriminator"], f"{at}/discriminator", "discriminator", "write {propertyName: <the tag property>}")

    def _check_enum(self, values: Any, at: str) -> None:
        if not isinstance(values, list):
            self.error(at, f"enum must be a list, not {_describe(values)}", "write enum: [a, b, c]")
        elif not values:
            self.error(at, "enum is empty, so no value is valid", "list the allowed values, or remove enum")
        else:
            seen: set[tuple[str, str]] = set()
            for i, value in enumerate(values):
                key = (type(value).__name__, json.dumps(value, sort_keys=True))  # 1, 1.0 and true differ
                if key in seen:
                    self.warn(f"{at}/{i}", f"the enum value {_show(value)} is listed twice (the repeat is ignored)", "remove the repeat")
                seen.add(key)

    def _check_required(self, schema: Mapping[str, Any], at: str) -> None:
        required = schema["required"]
        if isinstance(required, bool):
            self.error(f"{at}/required", f"required: {str(required).lower()} in a schema; a schema lists its required properties",
                       "write required: [name, ...] on the object that has the property")
            return
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            self.error(f"{at}/required", f"required must be a list of property names, not {_describe(required)}",
                       "write required: [name, ...]")
            return
        properties = schema.get("properties")
        if re.search(r"/(?:allOf|anyOf|oneOf)/\d+$", at):
            return  # a member's required list may name properties of the other members
        composed = any(k in schema for k in ("allOf", "anyOf", "oneOf", "$ref", "patternProperties", "if", "dependentSchemas"))
        if not isinstance(properties, dict) or composed or schema.get("additionalProperties") not in (None, False):
            return
        for i, name in enumerate(required):
            if name not in properties:
                close = difflib.get_close_matches(name, [str(p) for p in properties], n=1)
                self.warn(f"{at}/required/{i}", f"required names {name!r}, which properties does not define (ignored)",
                          f"did you mean {close[0]!r}?" if close else "add the property, or remove it from required")

    def _check_pattern(self, pattern: Any, at: str) -> None:
        if not isinstance(pattern, str):
            self.error(at, f"pattern must be a string, not {_describe(pattern)}", "quote the regular expression")
            return
        reason = pattern_problem(pattern)
        if reason:
            self.error(at, f"the pattern is not a regular expression the generated models can compile: {reason}",
                       "fix the pattern (Python's re or Rust's regex syntax), or remove it")

    def _check_discriminator(self, discriminator: Mapping[str, Any], at: str) -> None:
        if not isinstance(discriminator.get("propertyName"), str):
            self.error(at, "a discriminator needs a 'propertyName' string", "add propertyName: <the tag property>")
        mapping = discriminator.get("mapping", {})
        if not self.mapping(mapping, f"{at}/mapping", "discriminator mapping", "map tag values to $refs"):
            return
        schemas = self.component_schemas()
        for value, target in mapping.items():
            where = f"{at}/mapping/{escape_pointer_token(str(value))}"
            if not isinstance(target, str):
                self.error(where, f"a discriminator mapping value must be a string, not {_describe(target)}", "write '#/components/schemas/Name'")
            elif target.startswith("#"):
                self.check_ref(target, where)
            elif "/" not in target and "." not in target and isinstance(schemas, dict) and target not in schemas:
                self.error(where, f"discriminator mapping names the schema {target!r}, which components/schemas does not define",
                           "fix the name or write a $ref")

    # -- $refs -------------------------------------------------------------------------------

    def check_refs(self) -> None:
        """Every ``$ref`` in the document points somewhere usable; no schema is only itself."""
        for ref, where in _refs(self.document):
            if ref is None:
                self.warn(where, "$ref is null (an unquoted '#' starts a YAML comment); read as any value",
                          "quote the reference: $ref: '#/components/schemas/...'")
            elif not isinstance(ref, str):
                self.error(where, f"$ref must be a string, not {_describe(ref)}", "write '#/components/schemas/Name'")
            else:
                self.check_ref(ref, where)
        self.check_ref_cycles()

    def check_ref(self, ref: str, where: str) -> None:
        base, _, fragment = ref.partition("#")
        if base and base in self.ids:  # a 3.1 schema's $id, maybe with an anchor or a pointer in it
            if not fragment or fragment in self.anchors or self._resolve_in(self.ids[base], fragment) is not None:
                return
            self.error(where, f"$ref {ref!r}: the schema with $id {base!r} has no {fragment!r}", "fix the anchor or pointer")
            return
        if not ref.startswith("#"):
            self.check_external_ref(ref, where)
            return
        if ref != "#" and not ref.startswith("#/"):
            if fragment in self.anchors:
                return
            self.error(where, f"$ref {ref!r} is neither a JSON pointer nor a known $anchor", f"write '#/{ref[1:]}'")
            return
        if self.resolve(ref) is not None or ref == "#":
            return
        tokens = split_pointer(ref)
        node: Any = self.document
        for depth, token in enumerate(tokens):
            if isinstance(node, dict) and token in node:
                node = node[token]
                continue
            if isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
                continue
            options = [str(k) for k in node] if isinstance(node, dict) else []
            close = difflib.get_close_matches(token, options, n=1, cutoff=0.6)
            parent = "#/" + "/".join(escape_pointer_token(t) for t in tokens[:depth]) if depth else "#"
            hint = f"did you mean '{parent}/{escape_pointer_token(close[0])}'?" if close else f"add {token!r} under {parent}, or fix the reference"
            self.error(where, f"$ref {ref!r} points nowhere: {parent} has no {token!r}", hint)
            return

    def check_external_ref(self, ref: str, where: str) -> None:
        target = ref.split("#", 1)[0]
        hint = "bundle the spec into one file first, e.g. with 'redocly bundle' or 'swagger-cli bundle'"
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", target):
            self.error(where, f"$ref {ref!r} points to another document on the network, which sdkforge does not fetch", hint)
            return
        base = self.spec.path.parent if self.spec.path is not None else Path(".")
        path = base / target
        if not path.is_file() or not os.access(path, os.R_OK):
            self.error(where, f"$ref {ref!r} points to the file {target!r}, which cannot be read (no such file next to the spec)", hint)
        else:
            self.error(where, f"$ref {ref!r} points into another file; sdkforge reads one file only", hint)

    def check_ref_cycles(self) -> None:
        """Schemas that are only a reference to another one (or inherit from it through
        allOf), in a loop that never reaches a real schema: no class can be made of them."""
        schemas = self.component_schemas()
        prefix = "#/components/schemas/"
        edges: dict[str, list[str]] = {}
        for name, schema in schemas.items():
            if not isinstance(schema, dict):
                continue
            targets = []
            if isinstance(schema.get("$ref"), str):
                targets.append(schema["$ref"])
            for member in schema.get("allOf") or [] if isinstance(schema.get("allOf"), list) else []:
                if isinstance(member, dict) and isinstance(member.get("$ref"), str):
                    targets.append(member["$ref"])
            edges[str(name)] = [t[len(prefix):].replace("~1", "/").replace("~0", "~") for t in targets if t.startswith(prefix)]
        reported: set[str] = set()
        for start in edges:
            path = [start]
            positions = {start: 0}
            while True:
                following = [t for t in edges.get(path[-1], []) if t in edges]
                nxt = next((t for t in following if t in positions), None)
                if nxt is not None:
                    loop = path[positions[nxt]:]
                    if not reported.intersection(loop):
                        reported.update(loop)
                        shown = " -> ".join([*loop, nxt])
                        self.error(_ptr("components", "schemas", loop[0]),
                                   "the schema refers only to itself" if len(loop) == 1 else f"$ref loop with no real schema: {shown}",
                                   "give the schema a type or properties, or point the $ref at another schema")
                    break
                if not following or len(path) > MAX_REF_CHAIN:
                    if len(path) > MAX_REF_CHAIN and start not in reported:
                        reported.add(start)
                        self.error(_ptr("components", "schemas", start), f"a chain of more than {MAX_REF_CHAIN} schemas that only refer to the next",
                                   "refer to the final schema directly")
                    break
                positions[following[0]] = len(path)
                path.append(following[0])


# -- helpers -------------------------------------------------------------------------------


def _refs(document: Any) -> Iterator[tuple[Any, str]]:
    """Every ``$ref`` value in the document, outside data (examples, defaults, enums)."""
    stack: list[tuple[Any, str, bool]] = [(document, "#", False)]
    while stack:
        node, where, names = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node and not names:
                yield node["$ref"], f"{where}/$ref"
            for key, value in node.items():
                key = str(key)
                if not names and (key in _DATA_KEYWORDS or key.startswith("x-") or (key == "examples" and isinstance(value, list))):
                    continue
                if key == "value" and where.split("/")[-2:-1] == ["examples"]:
                    continue
                child_names = not names and key in (*_SCHEMA_MAP_KEYWORDS, "schemas", "responses", "parameters", "requestBodies",
                                                     "headers", "securitySchemes", "examples", "links", "callbacks", "pathItems",
                                                     "paths", "webhooks", "content", "encoding", "variables", "mapping")
                stack.append((value, f"{where}/{escape_pointer_token(key)}", child_names))
        elif isinstance(node, list):
            stack.extend((value, f"{where}/{i}", False) for i, value in enumerate(node))


def _ids_and_anchors(document: Any) -> tuple[dict[str, Any], set[str]]:
    """The 3.1 schemas named by ``$id`` and the ``$anchor`` names in the document."""
    ids: dict[str, Any] = {}
    anchors: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                ids.setdefault(node["$id"], node)
            for key in ("$anchor", "$dynamicAnchor"):
                if isinstance(node.get(key), str):
                    anchors.add(node[key])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return ids, anchors


def _locate_pydantic_error(document: Any, loc: tuple[Any, ...], value: Any) -> tuple[str, str] | None:
    """The pointer of a pydantic error and the missing field it names, or None when the error
    belongs to a union branch that does not apply (e.g. 'Reference' for a schema without $ref)."""
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
        elif isinstance(part, str) and (part[:1].isupper() or "[" in part or part in ("bool", "str", "int", "float")):
            branch_is_ref = part == "Reference"
            has_ref = isinstance(node, dict) and "$ref" in node
            if branch_is_ref != has_ref and (branch_is_ref or part[:1].isupper()):
                return None
            if part.startswith("list[") and not isinstance(node, list):
                return None
            if (part.startswith(("str", "literal")) or part == "bool") and isinstance(node, (list, dict)):
                return None
            if part.startswith(("dict[", "function-")) and not isinstance(node, dict):
                return None
        else:
            missing = str(part)
    return ("#/" + "/".join(escape_pointer_token(t) for t in tokens) if tokens else "#"), missing


@functools.lru_cache(maxsize=4096)
def pattern_problem(pattern: str) -> str:
    """Why the generated models could not be imported with this pattern, or ''.

    Pydantic compiles a field's pattern when the model class is made, with its Rust engine, or
    with Python's ``re`` where the models stage sets ``regex_engine="python-re"`` (it does for
    patterns the Rust engine rejects, e.g. look-around). A pattern both reject breaks the import.
    """
    from pydantic_core import SchemaError, SchemaValidator, core_schema

    reasons = []
    for engine in ("rust-regex", "python-re"):
        try:
            SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine=engine))
            return ""
        except SchemaError as exc:
            reasons.append(str(exc).splitlines()[-1].strip().removeprefix("error: "))
        except Exception:  # noqa: BLE001 - anything else: leave the pattern to the models stage
            return ""
    return reasons[-1][:200]


def _prefixes(where: str) -> list[str]:
    """The pointers of the places that contain ``where`` ("#/a/b" -> "#", "#/a")."""
    parts = where.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


def _ptr(*tokens: Any) -> str:
    return "#/" + "/".join(escape_pointer_token(str(t)) for t in tokens)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return f"the {_kind(value) if not isinstance(value, str) else 'string'} {_show(value)}"


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    if isinstance(value, bool):
        text = str(value).lower()
    return text if len(text) <= limit else text[: limit - 3] + "..."
