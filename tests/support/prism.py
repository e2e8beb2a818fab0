"""Contract-test helpers: Prism (`prism mock`, pinned in package.json) on 127.0.0.1, sample
arguments built from a spec, and the calls a generated client makes with them.

Prism validates every request against the spec (parameters, body, security) and answers with an
example response from the spec (or one it builds from the schema). An invalid request gets a 4xx
(the spec's 400/422 if it declares one, else 422) with an ``sl-violations`` header that lists
what was wrong; ``Exchange.violations`` collects that header.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import httpx
import pydantic
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PRISM = ROOT / "node_modules" / ".bin" / "prism"
START_TIMEOUT = 180.0  # seconds; qdrant's 517 KB file takes ~15 s on a busy 2-core machine


def prism_executable() -> Path:
    """The pinned Prism; skips when it is not installed, except in CI where that is a failure."""
    if PRISM.exists():
        return PRISM
    reason = f"{PRISM.relative_to(ROOT)} is missing: run `make setup` (it runs `npm ci`)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; CI must run the Prism contract tests", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, have the kernel send SIGTERM when the test process
    dies, so a crashed pytest (a segfault skips every finalizer) leaves no Prism behind."""
    if sys.platform.startswith("linux"):
        import ctypes  # noqa: PLC0415

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class PrismMock:
    """``prism mock`` for one spec, as a subprocess in its own process group."""

    def __init__(self, spec: Path, *extra_args: str) -> None:
        self.spec = spec
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [str(prism_executable()), "mock", "-h", "127.0.0.1", "-p", str(self.port), *extra_args, str(spec)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def wait_until_listening(self, timeout: float = START_TIMEOUT) -> PrismMock:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prism mock {self.spec.name} exited with {self._process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prism mock {self.spec.name} did not listen within {timeout:.0f} s:\n{self.log()}")

    def log(self, limit: int = 4000) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-limit:]

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._log.close()


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    violations: list[dict[str, Any]]
    request_headers: dict[str, str]
    request_body: bytes
    body: str

    @property
    def request_violations(self) -> list[dict[str, Any]]:
        """What Prism found wrong with the request (the client's fault)."""
        return [v for v in self.violations if v.get("location", [""])[0] == "request"]

    @property
    def response_violations(self) -> list[dict[str, Any]]:
        """What Prism found wrong with its own response: the spec's examples break its schemas."""
        return [v for v in self.violations if v.get("location", [""])[0] == "response"]

    @property
    def rejected(self) -> bool:
        return self.status >= 400 or bool(self.request_violations)

    def describe(self) -> str:
        return f"{self.method} {self.url} -> {self.status} {json.dumps(self.request_violations)} {self.body[:500]}"


@dataclass
class Recorder:
    """httpx clients whose event hooks record every response (and Prism's verdict on it)."""

    exchanges: list[Exchange] = field(default_factory=list)
    # A client given as http_client= is not closed by the SDK client: the recorder closes them.
    _sync: list[httpx.Client] = field(default_factory=list)
    _async: list[httpx.AsyncClient] = field(default_factory=list)

    def _record(self, response: httpx.Response) -> None:
        raw = response.headers.get("sl-violations")
        violations = json.loads(raw) if raw else []
        if not violations and response.status_code == 422:  # Prism's own 422 lists them in its body
            try:
                found = response.json().get("validation") or []
            except (ValueError, AttributeError):
                found = []
            violations = [{**v, "location": ["request", *v.get("location", [])]} for v in found]
        self.exchanges.append(Exchange(
            method=response.request.method,
            url=str(response.request.url),
            status=response.status_code,
            violations=violations,
            request_headers={k.lower(): v for k, v in response.request.headers.items()},
            request_body=response.request.content,
            body=response.text if response.status_code >= 400 else "",
        ))

    def sync_client(self) -> httpx.Client:
        def hook(response: httpx.Response) -> None:
            response.read()
            self._record(response)

        self._sync.append(httpx.Client(event_hooks={"response": [hook]}, timeout=30))
        return self._sync[-1]

    def async_client(self) -> httpx.AsyncClient:
        async def hook(response: httpx.Response) -> None:
            await response.aread()
            self._record(response)

        self._async.append(httpx.AsyncClient(event_hooks={"response": [hook]}, timeout=30))
        return self._async[-1]

    def close(self) -> None:
        for client in self._sync:
            client.close()

    async def aclose(self) -> None:
        for client in self._async:
            await client.aclose()


# --- sample values from a spec --------------------------------------------------------------------

SAMPLE_FORMATS: dict[str, Any] = {
    "date-time": "2024-01-02T03:04:05Z",
    "date": "2024-01-02",
    "time": "03:04:05Z",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "email": "user@example.com",
    "uri": "https://example.com/x",
    "url": "https://example.com/x",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "byte": "aGVsbG8=",
}


class Samples:
    """Minimal valid values for the schemas of one document: the schema's own example when it has
    one, else const/default/enum, else the smallest value of its type with its required fields."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> Any:
        """Follow ``$ref``s; keywords beside a ``$ref`` (3.1: ``required: [id]`` next to the ref,
        as petstore-3.1 writes it) are applied on top of the target."""
        seen = 0
        siblings: list[Mapping[str, Any]] = []
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            extra = {k: v for k, v in node.items() if k not in ("$ref", "description", "summary")}
            if extra:
                siblings.append(extra)
            target: Any = self.document
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
            seen += 1
            if seen > 50:
                raise ValueError(f"$ref cycle at {node}")
        if siblings and isinstance(node, Mapping):
            node = dict(node)
            for extra in reversed(siblings):  # the outermost keyword wins
                for key, value in extra.items():
                    if key == "required":
                        node["required"] = [*node.get("required", ()), *(r for r in value if r not in node.get("required", ()))]
                    elif key == "properties":
                        node["properties"] = {**node.get("properties", {}), **value}
                    else:
                        node[key] = value
        return node

    def value(self, schema: Any, depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping) or depth > 12:
            return None
        if schema.get("example") is not None and self.fits(schema["example"], schema):
            return schema["example"]
        if isinstance(schema.get("examples"), list) and schema["examples"] and self.fits(schema["examples"][0], schema):
            return schema["examples"][0]
        if "const" in schema:
            return schema["const"]
        if schema.get("default") is not None:
            return schema["default"]
        if schema.get("enum"):
            return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
        if "allOf" in schema:
            return self._object(self.merged(schema), depth)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self._choice(schema, key, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "null":
            return None
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        if kind == "array":
            return [self.value(schema.get("items", {}), depth + 1) for _ in range(max(1, schema.get("minItems", 1)))]
        if kind == "integer":
            return int(self._number(schema, 1))
        if kind == "number":
            return float(self._number(schema, 1.5))
        if kind == "boolean":
            return True
        if kind == "string" or kind is None:
            if schema.get("format") in SAMPLE_FORMATS:
                return SAMPLE_FORMATS[schema["format"]]
            text = "sample"
            text = text.ljust(schema.get("minLength", 0), "x")
            return text[: schema.get("maxLength", len(text))]
        return None

    def fits(self, value: Any, schema: Any, depth: int = 0) -> bool:
        """A rough check that ``value`` is valid for ``schema`` (types, enums, required
        properties, recursively), to pass over the spec examples that contradict their schema
        (hf-tgi writes array examples as JSON strings)."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping) or depth > 12:
            return True
        if value is None:
            kind = schema.get("type")
            return bool(schema.get("nullable")) or kind == "null" or (isinstance(kind, list) and "null" in kind) \
                or (kind is None and not any(k in schema for k in ("allOf", "oneOf", "anyOf", "enum", "properties")))
        if "enum" in schema and value not in schema["enum"]:
            return False
        if "const" in schema and value != schema["const"]:
            return False
        if not all(self.fits(value, part, depth + 1) for part in schema.get("allOf", ())):
            return False
        for key in ("oneOf", "anyOf"):
            if key in schema and not any(self.fits(value, part, depth + 1) for part in schema[key]):
                return False
        kinds = schema.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
        if kinds and not any(_json_type(value, kind) for kind in kinds):
            return False
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            return all(name in value for name in schema.get("required", ())) and all(
                self.fits(item, properties[name], depth + 1) for name, item in value.items() if name in properties)
        if isinstance(value, list) and "items" in schema:
            return all(self.fits(item, schema["items"], depth + 1) for item in value)
        return True

    def property_names(self, schema: Any, depth: int = 0) -> frozenset[str] | None:
        """Names an object body may carry: its properties and those of every allOf/oneOf/anyOf
        member; None when it also takes others (additionalProperties) or is not an object."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping) or depth > 12:
            return None
        if schema.get("additionalProperties") not in (None, False) or "patternProperties" in schema:
            return None
        names = set(schema.get("properties", {}))
        members = [*schema.get("allOf", ()), *schema.get("oneOf", ()), *schema.get("anyOf", ())]
        for member in members:
            found = self.property_names(member, depth + 1)
            if found is None and self.resolve(member).get("type", "object") == "object":
                return None
            names |= found or set()
        if not names and not members:
            return None  # {type: object} alone: anything goes
        return frozenset(names)

    def merged(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """allOf members (and the schema's own properties) as one object schema."""
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in [*schema.get("allOf", ()), {k: v for k, v in schema.items() if k != "allOf"}]:
            part = self.resolve(part)
            if "allOf" in part:
                part = self.merged(part)
            for key in ("oneOf", "anyOf"):  # a choice inside allOf: take its first object member
                if key in part:
                    members = [self.resolve(m) for m in part[key]]
                    part = next((m for m in members if "properties" in m or "allOf" in m), part)
                    part = self.merged(part) if "allOf" in part else part
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += [r for r in part.get("required", ()) if r not in merged["required"]]
            if "discriminator" in part:
                merged.setdefault("discriminator", part["discriminator"])
        return merged

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        return {name: self.value(properties.get(name, {}), depth + 1) for name in schema.get("required", ())}

    def _choice(self, schema: Mapping[str, Any], key: str, depth: int) -> Any:
        """The first member's value; for oneOf, the first whose value no other member accepts
        (a validator ignoring the discriminator, as Prism's does, needs exactly one match)."""
        members = [m for m in schema[key] if self.resolve(m).get("type") != "null"] or schema[key]
        values = [self._member_value(schema, member, depth) for member in members]
        if key == "oneOf":
            for index, value in enumerate(values):
                if not any(self.fits(value, other) for other in members[:index] + members[index + 1:]):
                    return value
        return values[0]

    def _member_value(self, schema: Mapping[str, Any], member: Any, depth: int) -> Any:
        value = self.value(member, depth + 1)
        discriminator = schema.get("discriminator")
        if isinstance(value, dict) and isinstance(discriminator, Mapping):
            name = discriminator["propertyName"]
            ref = member.get("$ref", "") if isinstance(member, Mapping) else ""
            tags = [tag for tag, target in discriminator.get("mapping", {}).items() if target == ref]
            value[name] = tags[0] if tags else ref.rsplit("/", 1)[-1]
        return value

    @staticmethod
    def _number(schema: Mapping[str, Any], fallback: float) -> float:
        low = schema.get("minimum")
        exclusive = schema.get("exclusiveMinimum")
        if isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):
            low = exclusive + 1
        elif exclusive is True and low is not None:
            low = low + 1
        value = low if low is not None else fallback
        high = schema.get("maximum")
        return min(value, high) if high is not None else value


def _json_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    python = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}.get(kind)
    return python is None or isinstance(value, python)


def example_of(holder: Mapping[str, Any], samples: Samples) -> tuple[bool, Any]:
    """A parameter's or media type's own example (``example``, or the first of ``examples``),
    when it fits the schema beside it."""
    candidates = []
    if "example" in holder:
        candidates.append(holder["example"])
    examples = holder.get("examples")
    if isinstance(examples, Mapping) and examples:
        first = samples.resolve(next(iter(examples.values())))
        if isinstance(first, Mapping) and "value" in first:
            candidates.append(first["value"])
    for candidate in candidates:
        if samples.fits(candidate, holder.get("schema", {})):
            return True, candidate
    return False, None


# Formats our models check but Prism's example generator does not know: it answers "string".
PRISM_FORMATS = {"uuid1": "uuid", "uuid3": "uuid", "uuid4": "uuid", "uuid5": "uuid"}


def prism_view(spec: Path, directory: Path) -> Path:
    """The spec as Prism is given it, with two workarounds for Prism 5.14.2:

    - ``nullable`` is dropped from schemas that have no ``type``: Prism silently skips
      request-body validation for a document in which such a schema (``{allOf: [...],
      nullable: true}``, as in hf-tgi) is reachable (``{}`` passes a body with required fields);
    - ``format: uuid4`` (ory-kratos) is spelled ``uuid``: Prism's mock answers "string" for a
      format it does not know, which a UUID4 field rightly refuses;
    - a ``discriminator`` mapping is spelled out as an ``enum`` on the property in each ``oneOf``
      member: Prism validates plain JSON Schema and ignores discriminators, so where the
      members differ only by the discriminator's value (ory-kratos' ``method``) every valid
      body matches several members and ``oneOf`` refuses it;
    - ``$ref``s to an ``$id`` (petstore-3.1's ``$ref: /components/schemas/petdetails``), which
      Prism opens as files, are made local with the generator's own resolution
      (``generator.refs.canonical_refs``): for such refs the test trusts the generator.

    Returns ``spec`` itself when nothing changes.
    """
    import yaml

    from generator.refs import canonical_refs

    text = spec.read_text(encoding="utf-8")
    document = json.loads(text) if spec.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)
    canonical = canonical_refs(document)[0]
    changed = int(canonical != document)
    document = canonical

    def walk(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            if node.get("nullable") is True and "type" not in node and "$ref" not in node:
                del node["nullable"]
                changed += 1
            if isinstance(node.get("format"), str) and node["format"] in PRISM_FORMATS:
                node["format"] = PRISM_FORMATS[node["format"]]
                changed += 1
            discriminator = node.get("discriminator")
            if isinstance(discriminator, dict) and isinstance(node.get("oneOf"), list):
                name = discriminator.get("propertyName")
                mapping = discriminator.get("mapping") or {}
                for index, member in enumerate(node["oneOf"]):
                    ref = member.get("$ref") if isinstance(member, dict) else None
                    if not ref:
                        continue
                    tags = [tag for tag, target in mapping.items() if target == ref] or [ref.rsplit("/", 1)[-1]]
                    node["oneOf"][index] = {"allOf": [member, {"properties": {name: {"enum": tags}}}]}
                    changed += 1
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    if not changed:
        return spec
    target = directory / f"{spec.parent.name}-for-prism.json"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


# --- the calls a generated client makes ----------------------------------------------------------


@dataclass
class Call:
    """One operation called with sample arguments: ``client.<resources...>.<method>(*args, **kwargs)``."""

    label: str  # "GET /pets/{petId}"
    operation_id: str
    attributes: tuple[str, ...]  # resource attributes from the client down, then the method name
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    skip: str = ""  # why this operation is not called against Prism
    http_method: str = ""
    path: str = ""  # with the path arguments filled in
    canary: bool = False  # a JSON body with required fields and no required query/header/cookie
    # Every property name a JSON object body may have (allOf, oneOf and anyOf members merged);
    # None when the body is not a closed-world object we can check this way. Prism does not
    # check it: unknown properties pass unless the schema says additionalProperties: false.
    body_properties: frozenset[str] | None = None
    # Keyword arguments the spec requires (required parameters; required fields of a required
    # object body): the signature must not give them a default.
    spec_required: tuple[str, ...] = ()

    def method(self, client: object) -> Callable[..., Any]:
        target: Any = client
        for name in self.attributes:
            target = getattr(target, name)
        return typing.cast(Callable[..., Any], target)


def walk_pointer(document: Mapping[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def plan_calls(api: Any, document: Mapping[str, Any]) -> list[Call]:
    """A call for every operation of the IR ``api``, with arguments built from the spec alone:
    path parameters, required query/header/cookie parameters, and the body's example or its
    required fields. Operations that always stream, or are binary uploads, are marked skipped."""
    from generator.ir import BodyEncoding, ParamLocation

    samples = Samples(document)
    calls: list[Call] = []

    def walk(resource: Any, chain: tuple[str, ...]) -> None:
        chain = (*chain, resource.attribute)
        for op in resource.operations:
            calls.append(_plan(op, chain, document, samples, ParamLocation, BodyEncoding))
        for child in resource.children:
            walk(child, chain)

    for top in api.resources:
        walk(top, ())
    return calls


def _plan(op: Any, chain: tuple[str, ...], document: Mapping[str, Any], samples: Samples,
          ParamLocation: Any, BodyEncoding: Any) -> Call:
    path_item = walk_pointer(document, op.pointer.rsplit("/", 1)[0])
    raw_op = walk_pointer(document, op.pointer)
    label = f"{op.http_method.upper()} {op.pointer.split('/')[2].replace('~1', '/').replace('~0', '~')}"
    spec_params: dict[tuple[str, str], Mapping[str, Any]] = {}
    for raw in [*path_item.get("parameters", ()), *raw_op.get("parameters", ())]:
        raw = samples.resolve(raw)
        spec_params[(raw["in"], raw["name"])] = raw
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    skip = ""
    canary = False
    body_properties: frozenset[str] | None = None
    spec_required: list[str] = []
    for param in op.params:
        raw = spec_params[(param.location.value, param.wire_name.text)]
        if raw.get("required") and param.location is not ParamLocation.PATH:
            spec_required.append(param.name)
        # optional query parameters are sent too: they exercise the query encodings (arrays,
        # booleans, styles) that Prism checks; optional headers and cookies are left out
        if not (param.required or param.location in (ParamLocation.PATH, ParamLocation.QUERY)):
            continue
        found, value = example_of(raw, samples)
        if not found:
            value = samples.value(raw.get("schema", {}))
        if param.location is ParamLocation.PATH:
            args.append(value)
        else:
            kwargs[param.name] = value
    if op.body is not None:
        media = samples.resolve(raw_op["requestBody"])["content"][op.body.content_type.text]
        schema = samples.resolve(media.get("schema", {}))
        found, value = example_of(media, samples)
        if not found:
            value = samples.value(schema)
        if op.body.encoding is BodyEncoding.JSON:
            body_properties = samples.property_names(schema)
        canary = (op.body.encoding is BodyEncoding.JSON and bool(samples.merged(schema)["required"])
                  and not any(p.required and p.location is not ParamLocation.PATH for p in op.params))
        if op.body.encoding is BodyEncoding.BINARY:
            skip = "binary upload"
        elif op.body.whole is not None:
            kwargs[op.body.whole.name] = value
        else:
            by_wire = {f.wire_name.text: f for f in op.body.fields}
            if samples.resolve(raw_op["requestBody"]).get("required"):
                spec_required += [by_wire[name].name for name in samples.merged(schema)["required"] if name in by_wire]
            extra: dict[str, Any] = {}
            for key, item in (value or {}).items():
                body_field = by_wire.get(key)
                if body_field is None:
                    extra[key] = item
                elif body_field.is_file:
                    kwargs[body_field.name] = ("sample.txt", b"sample file\n", "text/plain")
                else:
                    kwargs[body_field.name] = item
            for body_field in op.body.fields:  # required files the example left out
                if body_field.is_file and body_field.required and body_field.name not in kwargs:
                    kwargs[body_field.name] = ("sample.txt", b"sample file\n", "text/plain")
            if extra:
                kwargs["extra_body"] = extra
    if op.stream is not None:
        if op.stream.switch is None:
            skip = f"always streams ({op.stream.format.value}); Prism does not mock streams"
        else:
            kwargs[op.stream.switch.name] = False
    path = op.path.text.format(**{p.name: value for p, value in zip(op.path_params, args)})
    return Call(label, op.operation_id, (*chain, op.method_name), tuple(args), kwargs, skip,
                op.http_method, path, canary and not skip, body_properties, tuple(spec_required))


# --- what a method declares it returns, and whether a value is one --------------------------------


def declared_return(method: Callable[..., Any]) -> Any:
    """The method's return annotation without its Stream/AsyncStream members."""
    function = inspect.unwrap(method)
    hint = typing.get_type_hints(function)["return"]
    members = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    kept = [m for m in members if getattr(get_origin(m) or m, "__name__", "") not in ("Stream", "AsyncStream")]
    return Union[tuple(kept)] if len(kept) > 1 else kept[0]


def conforms(value: Any, annotation: Any) -> bool:
    """``value`` is an instance of ``annotation`` (models, unions, lists, dicts, literals, primitives)."""
    if annotation is Any or annotation is object:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(conforms(value, member) for member in get_args(annotation))
    if origin is typing.Literal:
        return value in get_args(annotation)
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin is dict:
        _, item = get_args(annotation) or (str, Any)
        return isinstance(value, dict) and all(conforms(v, item) for v in value.values())
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(annotation, type) and (issubclass(annotation, pydantic.BaseModel) or annotation.__module__ == "builtins"):
        return isinstance(value, annotation)
    try:  # pydantic's own types (AwareDatetime, ...), Annotated, aliases: ask pydantic, strictly
        pydantic.TypeAdapter(annotation).validate_python(value, strict=True)
    except pydantic.ValidationError:
        return False
    return True
