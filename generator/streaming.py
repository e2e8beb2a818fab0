"""How an operation streams: every way a spec (or its user) can say so, lowered to ``ir.StreamSpec``.

Where the answer comes from, strongest first:

1. ``[tool.sdkforge.streaming."POST /completions"]`` in pyproject.toml (or keyed by operationId),
   for specs that describe streaming only in prose (the official OpenAI file: ``stream: true``
   switches POST /completions to server-sent events, but only the JSON response is declared);
2. the operation's ``x-sdkforge-streaming`` extension, with the same keys;
3. the spec itself: a 2xx response content of a sequential media type, ``text/event-stream``
   (SSE), ``application/x-ndjson`` / ``application/jsonl`` (JSON lines) or
   ``application/json-seq`` (RFC 7464), with ``schema`` or OpenAPI 3.2's ``itemSchema``.

The keys (settings 1 and 2 merge key by key, the configuration winning):

``param``
    the boolean request body field that switches streaming on; ``""`` means the operation always
    streams. Default: a boolean body field called ``stream``, when the operation also has a
    plain (non-streamed) response.
``event-schema``
    a ``$ref`` (``#/components/schemas/X``, or just ``X``) to the schema of each item. Default: the
    stream content's ``itemSchema``/``schema``; with no stream content (prose only), the JSON
    success response's schema (the stream repeats the object, as OpenAI's completions do).
``terminator``
    an item payload that ends the stream; ``""`` for none. Default: the value of a member of the
    SSE event schema that allows one fixed string (Together's ``StreamSentinel``: ``data`` is
    ``enum: ["[DONE]"]``); else ``[DONE]`` for SSE streams of JSON items (it can never be valid
    JSON, so it is only ever the end marker); else none.
``format``
    ``sse``, ``ndjson`` (also ``jsonl``) or ``json-seq``, or a media type. Default: from the
    stream content's media type, else ``sse``.
``default``
    whether leaving the switch out streams. Default: the switch field's schema ``default``
    (Ollama's ``stream`` defaults to true: the call without ``stream=`` returns a stream).
``enabled``
    ``false`` ignores whatever the spec says about streaming for this operation.

An SSE item schema may describe the whole event (OpenAPI 3.2's way: an object with ``data``,
``event``, ``id``, ``retry``; also Mistral's and Together's 3.1 ``schema``): the item type is then
that of ``data`` (a union over ``oneOf`` envelopes), read through ``contentSchema`` when ``data`` is a
JSON-encoded string. A 3.1 ``schema`` counts as an envelope only if it also requires ``data`` or
names ``event`` or ``retry`` (a payload may have a ``data`` field of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable

from . import naming
from .errors import ConfigError, escape_pointer_token
from .ir import Body, Param, PyString, StreamFormat, StreamSpec, TypeKind, TypeRef, union

if TYPE_CHECKING:
    from .lower import Lowering

__all__ = ["EXTENSION", "StreamingSetting", "lower_stream", "parse_settings", "unmatched_settings"]

EXTENSION = "x-sdkforge-streaming"
SSE_TERMINATOR = "[DONE]"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")

MEDIA_TYPES: Mapping[str, StreamFormat] = {
    "text/event-stream": StreamFormat.SSE,
    "application/x-ndjson": StreamFormat.NDJSON,
    "application/ndjson": StreamFormat.NDJSON,
    "application/jsonl": StreamFormat.NDJSON,
    "application/x-jsonlines": StreamFormat.NDJSON,
    "application/jsonlines": StreamFormat.NDJSON,
    "application/json-seq": StreamFormat.JSON_SEQ,
}
FORMAT_NAMES: Mapping[str, StreamFormat] = {
    "sse": StreamFormat.SSE,
    "ndjson": StreamFormat.NDJSON,
    "jsonl": StreamFormat.NDJSON,
    "json-seq": StreamFormat.JSON_SEQ,
    **MEDIA_TYPES,
}
_ENVELOPE_FIELDS = frozenset({"data", "event", "id", "retry"})
_ANY = TypeRef(TypeKind.ANY)
_STR = TypeRef(TypeKind.STR)
_BOOL = TypeRef(TypeKind.BOOL)


# -- settings: pyproject.toml and the x- extension --------------------------------------------


@dataclass(frozen=True)
class StreamingSetting:
    """One operation's entry of ``[tool.sdkforge.streaming]`` (or its ``x-sdkforge-streaming``).

    ``None`` means "not given" (the spec decides). Frozen and hashable, like ``Config``.
    """

    operation: str  # "POST /completions" (method upper-cased), or an operationId
    param: str | None = None
    event_schema: str | None = None
    terminator: str | None = None
    format: StreamFormat | None = None
    default: bool | None = None
    enabled: bool | None = None

    def matches(self, path: str, http_method: str, operation_id: str) -> bool:
        if " " in self.operation:
            return self.operation == f"{http_method.upper()} {path}"
        return bool(operation_id) and self.operation == operation_id


_KEYS = {f.name.replace("_", "-"): f.name for f in fields(StreamingSetting) if f.name != "operation"}


def _read(values: Mapping[str, Any], report: Callable[[str, str], None]) -> dict[str, Any]:
    """The settings in one mapping, checked; ``report(key, message)`` for each bad entry."""
    found: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).replace("_", "-")
        name = _KEYS.get(key)
        if name is None:
            report(str(raw_key), f"unknown key {raw_key!r} (known keys: {', '.join(sorted(_KEYS))})")
        elif name in ("param", "event_schema", "terminator"):
            if not isinstance(value, str):
                report(key, f"{key} must be a string, not {type(value).__name__}")
            elif name == "event_schema" and not value.startswith("#"):  # a component's name
                found[name] = "#/components/schemas/" + naming.escape_ref_token(value)
            else:
                found[name] = value
        elif name == "format":
            stream_format = FORMAT_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
            if stream_format is None:
                report(key, f"unknown format {value!r} (use sse, ndjson, jsonl or json-seq)")
            else:
                found[name] = stream_format
        elif isinstance(value, bool):  # default, enabled
            found[name] = value
        else:
            report(key, f"{key} must be true or false, not {value!r}")
    return found


def parse_settings(table: Any, source: str) -> tuple[StreamingSetting, ...]:
    """``[tool.sdkforge.streaming]``: a table of operations, each a table of settings."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [tool.sdkforge.streaming] must be a table of operations, "
                          f"e.g. [tool.sdkforge.streaming.\"POST /completions\"]")
    settings = []
    for operation, values in table.items():
        where = f"{source}: [tool.sdkforge.streaming.{_toml_key(operation)}]"
        key = _operation_key(operation)
        if key is None:
            raise ConfigError(f"{where}: name the operation as 'METHOD /path' (e.g. \"POST /completions\") or by its operationId")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where}: must be a table of settings ({', '.join(sorted(_KEYS))})")

        def report(setting: str, message: str, where: str = where) -> None:
            raise ConfigError(f"{where}: {message}")

        settings.append(StreamingSetting(key, **_read(values, report)))
    return tuple(settings)


def _operation_key(text: str) -> str | None:
    method, space, path = text.strip().partition(" ")
    if space:
        path = path.strip()
        return f"{method.upper()} {path}" if method.lower() in HTTP_METHODS and path.startswith("/") else None
    return text if text and not text.startswith("/") else None


def _toml_key(text: str) -> str:
    return text if text.replace("-", "").replace("_", "").isalnum() else '"' + text.replace('"', '\\"') + '"'


def unmatched_settings(document: Mapping[str, Any], settings: tuple[StreamingSetting, ...]) -> list[str]:
    """The configured operations the spec does not have (each a typo to report)."""
    operations: list[tuple[str, str, str]] = []
    for path, item in (document.get("paths") or {}).items():
        if isinstance(item, Mapping):
            for method in HTTP_METHODS:
                operation = item.get(method)
                if isinstance(operation, Mapping):
                    operations.append((str(path), method, str(operation.get("operationId") or "")))
    return [s.operation for s in settings if not any(s.matches(*op) for op in operations)]


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Content:
    status: str
    media_type: str  # as written in the spec
    media: Mapping[str, Any]
    format: StreamFormat

    def pointer(self, where: str) -> str:
        return f"{where}/responses/{escape_pointer_token(self.status)}/content/{escape_pointer_token(self.media_type)}"


def lower_stream(lowering: Lowering, operation: Mapping[str, Any], where: str, body: Body | None) -> StreamSpec | None:
    """The ``StreamSpec`` of one operation (``where`` is its pointer), or None if it does not stream.

    Problems go to ``lowering.problems`` with the pointer of what is wrong.
    """
    path, http_method = _split_pointer(where)
    operation_id = str(operation.get("operationId") or "")
    ext_at = f"{where}/{EXTENSION}"
    extension = operation.get(EXTENSION)
    settings: dict[str, Any] = {}
    if isinstance(extension, Mapping):
        settings = _read(extension, lambda key, message: lowering.problems.append(
            (f"{ext_at}/{escape_pointer_token(key)}", message, "see the x-sdkforge-streaming keys in the README")))
    configured = next((s for s in lowering.config.streaming if s.matches(path, http_method, operation_id)), None)
    from_config = {name for name in _KEYS.values() if configured is not None and getattr(configured, name) is not None}
    settings.update({name: getattr(configured, name) for name in from_config})
    declared = isinstance(extension, Mapping) or configured is not None

    def problem(name: str, message: str, hint: str) -> None:
        if configured is not None and name in from_config:
            key = name.replace("_", "-")
            lowering.problems.append((where, f"[tool.sdkforge.streaming.{_toml_key(configured.operation)}] {key}: {message}", hint))
        else:
            lowering.problems.append((f"{ext_at}/{name.replace('_', '-')}" if name in settings else ext_at if isinstance(extension, Mapping) else where, message, hint))

    if settings.get("enabled") is False:
        return None
    content = _stream_content(lowering, operation)
    if content is None and not declared:
        return None
    plain = _plain_response_schema(lowering, operation, where)
    has_plain = plain is not None or _has_other_content(lowering, operation)
    stream_format = settings.get("format") or (content.format if content else StreamFormat.SSE)

    hint = naming.pascal_identifier(operation_id or f"{http_method}_{path}", fallback="Operation") + "Event"
    declared_terminator: str | None = None
    if "event_schema" in settings:
        ref = settings["event_schema"]
        if not ref.startswith("#"):  # a StreamingSetting made in code may name the component
            ref = "#/components/schemas/" + naming.escape_ref_token(ref)
        if lowering.resolve(ref) is None:
            problem("event_schema", f"{ref!r} points nowhere", "name a schema, e.g. #/components/schemas/Chunk")
            event_type = _ANY
        else:
            event_type, declared_terminator = _schema_event_type(lowering, {"$ref": ref}, where, stream_format, hint, True)
    elif content is not None:
        event_type, declared_terminator = _content_event_type(lowering, content, where, stream_format, hint)
    elif plain is not None:
        event_type = lowering.type_of(*plain)  # prose only: the stream repeats the response object
    else:
        event_type = _ANY

    switch: Param | None = None
    fields_by_wire = {f.wire_name.text: f for f in (body.fields if body else ())}
    param = settings.get("param")
    if param:
        switch = fields_by_wire.get(param)
        if switch is None:
            problem("param", f"no request body field {param!r} switches streaming",
                    "name a boolean property of the JSON request body, or use \"\" if the operation always streams")
            return None
        if not _is_boolean(switch.type):
            problem("param", f"the streaming switch {param!r} is {switch.type.annotation}, not a boolean",
                    "name a boolean property of the JSON request body")
            return None
    elif param is None and has_plain:
        candidate = fields_by_wire.get("stream")
        if candidate is not None and _is_boolean(candidate.type):
            switch = candidate
        elif declared:
            problem("param", "no boolean request body field 'stream': which field switches streaming on?",
                    "set param to a boolean body property, or to \"\" if the operation always streams")
            return None
        else:
            return None  # a plain response and a stream, chosen by something we cannot see: the plain one

    default_on = settings.get("default")
    if switch is None:
        default_on = False
    elif default_on is None:
        default_on = _field_default(lowering, operation, switch.wire_name.text) is True

    terminator = settings.get("terminator", declared_terminator)
    if terminator is None and stream_format is StreamFormat.SSE and event_type.kind not in (TypeKind.STR, TypeKind.BYTES):
        terminator = SSE_TERMINATOR
    return StreamSpec(stream_format, event_type, switch, PyString(terminator) if terminator else None, bool(default_on))


def _split_pointer(where: str) -> tuple[str, str]:
    """``#/paths/~1completions/post`` -> ("/completions", "post")."""
    body = where[len("#/paths/"):] if where.startswith("#/paths/") else where
    token, _, method = body.rpartition("/")
    return token.replace("~1", "/").replace("~0", "~"), method


def _responses_2xx(lowering: Lowering, operation: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    responses = operation.get("responses") or {}
    found = []
    for status in sorted(str(s) for s in responses):
        if not (status.startswith("2") or status.upper() == "2XX"):
            continue
        response = responses.get(status, responses.get(int(status)) if status.isdigit() else None)
        if isinstance(response, Mapping) and "$ref" in response:
            response = lowering.resolve(str(response["$ref"]))
        content = (response or {}).get("content") if isinstance(response, Mapping) else None
        if isinstance(content, Mapping):
            found.append((status, content))
    return found


def _media(media_type: str) -> str:
    return media_type.split(";")[0].strip().lower()


def _stream_content(lowering: Lowering, operation: Mapping[str, Any]) -> _Content | None:
    for status, content in _responses_2xx(lowering, operation):
        for media_type, media in content.items():
            stream_format = MEDIA_TYPES.get(_media(str(media_type)))
            if stream_format is not None:
                return _Content(status, str(media_type), media if isinstance(media, Mapping) else {}, stream_format)
    return None


def _plain_response_schema(lowering: Lowering, operation: Mapping[str, Any], where: str) -> tuple[Any, str] | None:
    """The schema of the first 2xx JSON content and its pointer (the non-streamed answer)."""
    for status, content in _responses_2xx(lowering, operation):
        for media_type, media in content.items():
            media_name = _media(str(media_type))
            if (media_name == "application/json" or media_name.endswith("+json")) and isinstance(media, Mapping):
                at = f"{where}/responses/{escape_pointer_token(status)}/content/{escape_pointer_token(str(media_type))}/schema"
                return media.get("schema", {}), at
    return None


def _has_other_content(lowering: Lowering, operation: Mapping[str, Any]) -> bool:
    return any(_media(str(mt)) not in MEDIA_TYPES for _, content in _responses_2xx(lowering, operation) for mt in content)


def _content_event_type(
    lowering: Lowering, content: _Content, where: str, stream_format: StreamFormat, hint: str
) -> tuple[TypeRef, str | None]:
    """The item type of a stream content, and the terminator its schema names, if any."""
    at = content.pointer(where)
    if "itemSchema" in content.media:
        return _schema_event_type(lowering, content.media["itemSchema"], f"{at}/itemSchema", stream_format, hint, False)
    if "schema" in content.media:
        return _schema_event_type(lowering, content.media["schema"], f"{at}/schema", stream_format, hint, True)
    return (_STR if stream_format is StreamFormat.SSE else _ANY), None


def _schema_event_type(
    lowering: Lowering, schema: Any, at: str, stream_format: StreamFormat, hint: str, strict: bool
) -> tuple[TypeRef, str | None]:
    """The item type a schema gives, and the terminator it names; ``strict``: see ``_envelope_data``."""
    if stream_format is not StreamFormat.SSE:
        return lowering._named_type(schema, at, hint), None
    envelope = _envelope_data(lowering, schema, strict=strict)
    relative = envelope if envelope is not None else _members(lowering, schema)
    members = [(m, f"{at}/{suffix}".rstrip("/")) for m, suffix in relative]
    # A member that is one fixed string ("[DONE]") is the end marker, not an item.
    sentinels = [value for value in (_sentinel(lowering, m) for m, _ in members) if value is not None]
    if envelope is None and not sentinels:
        return lowering._named_type(schema, at, hint), None
    items = [(m, member_at) for m, member_at in members if _sentinel(lowering, m) is None]
    event_type = union(*(_data_type(lowering, m, member_at, hint) for m, member_at in items)) if items else _STR
    return event_type, sentinels[0] if len(sentinels) == 1 else None


def _resolved(lowering: Lowering, schema: Any) -> Any:
    if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        return lowering.resolve(schema["$ref"])
    return schema


def _members(lowering: Lowering, schema: Any) -> list[tuple[Any, str]]:
    """The ``oneOf``/``anyOf`` members of a schema with their pointer suffix, else the schema."""
    target = _resolved(lowering, schema)
    for key in ("oneOf", "anyOf"):
        found = target.get(key) if isinstance(target, Mapping) else None
        if isinstance(found, list) and found:
            return [(member, f"{key}/{i}") for i, member in enumerate(found)]
    return [(schema, "")]


def _sentinel(lowering: Lowering, schema: Any) -> str | None:
    """The value of a schema that allows exactly one string (``const``, or a one-value ``enum``)."""
    target = _resolved(lowering, schema)
    if not isinstance(target, Mapping) or target.get("type", "string") != "string":
        return None
    if isinstance(target.get("const"), str):
        return str(target["const"])
    values = target.get("enum")
    return values[0] if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str) else None


def _envelope_data(lowering: Lowering, schema: Any, strict: bool, at: str = "") -> list[tuple[Any, str]] | None:
    """The ``data`` schemas (and pointer suffixes) of an SSE event envelope, one per
    ``oneOf``/``anyOf`` member, or None if the schema describes the data itself. ``strict`` (a
    3.0/3.1 ``schema``, which normally describes the data): the envelope must also require
    ``data`` or name ``event`` or ``retry``, as a payload may have a ``data`` field of its own."""
    target = _resolved(lowering, schema)
    if not isinstance(target, Mapping):
        return None
    for key in ("oneOf", "anyOf"):
        members = target.get(key)
        if isinstance(members, list) and members:
            inner = [_envelope_data(lowering, member, strict, f"{at}{key}/{i}/") for i, member in enumerate(members)]
            if all(found is not None for found in inner):
                return [data for found in inner if found is not None for data in found]
            return None
    properties = target.get("properties")
    if not isinstance(properties, Mapping) or "data" not in properties or not set(properties) <= _ENVELOPE_FIELDS:
        return None
    required = target.get("required")
    required = required if isinstance(required, list) else []
    if strict and "data" not in required and not ({"event", "retry"} & set(properties)):
        return None
    return [(properties["data"], f"{at}properties/data")]


def _data_type(lowering: Lowering, data: Any, at: str, hint: str) -> TypeRef:
    if isinstance(data, Mapping) and "$ref" not in data:
        if "contentSchema" in data:
            return lowering._named_type(data["contentSchema"], f"{at}/contentSchema", hint)
        if data.get("type") == "string":
            media = str(data.get("contentMediaType", "")).lower()
            return _ANY if media == "application/json" or media.endswith("+json") else _STR
    return lowering._named_type(data, at, hint)


def _is_boolean(type_: TypeRef) -> bool:
    return type_ == _BOOL or (type_.kind is TypeKind.UNION and set(type_.args) == {_BOOL, TypeRef(TypeKind.NONE)})


def _field_default(lowering: Lowering, operation: Mapping[str, Any], wire_name: str) -> Any:
    """The schema ``default`` of a JSON request body property (None if there is none)."""
    request_body = operation.get("requestBody")
    if isinstance(request_body, Mapping) and "$ref" in request_body:
        request_body = lowering.resolve(str(request_body["$ref"]))
    content = request_body.get("content") if isinstance(request_body, Mapping) else None
    if not isinstance(content, Mapping):
        return None
    media = next((m for mt, m in content.items() if _media(str(mt)) == "application/json" or _media(str(mt)).endswith("+json")), None)
    if not isinstance(media, Mapping):
        return None
    properties, _ = lowering._object_properties(media.get("schema"))
    prop = (properties or {}).get(wire_name)
    if isinstance(prop, Mapping) and "$ref" in prop:
        prop = lowering.resolve(str(prop["$ref"]))
    return prop.get("default") if isinstance(prop, Mapping) else None
