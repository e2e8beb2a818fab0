"""The intermediate representation: what the emitted package contains, decided once.

Lowering builds these frozen objects from the spec; rendering only reads them. Every name
the output uses is decided during lowering (see ``naming``) and stored here, and every
Python type annotation is spelled by ``TypeRef.annotation`` alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ParamLocation(enum.Enum):
    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"
    BODY = "body"


class TypeKind(enum.Enum):
    ANY = "any"
    OBJECT = "object"  # any value; spelled ``object`` so callers cannot misuse it
    NONE = "none"
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    BYTES = "bytes"
    LITERAL = "literal"
    LIST = "list"
    DICT = "dict"
    UNION = "union"
    MODEL = "model"


_PRIMITIVE_SPELLING = {
    TypeKind.ANY: "Any",
    TypeKind.OBJECT: "object",
    TypeKind.NONE: "None",
    TypeKind.STR: "str",
    TypeKind.INT: "int",
    TypeKind.FLOAT: "float",
    TypeKind.BOOL: "bool",
    TypeKind.BYTES: "bytes",
}


@dataclass(frozen=True)
class TypeRef:
    """A Python type. ``args`` holds element types (LIST: 1, DICT: value type, UNION: members)."""

    kind: TypeKind
    args: tuple[TypeRef, ...] = ()
    literals: tuple[str | int | float | bool, ...] = ()
    model: str = ""

    @property
    def annotation(self) -> str:
        if self.kind in _PRIMITIVE_SPELLING:
            return _PRIMITIVE_SPELLING[self.kind]
        if self.kind is TypeKind.LITERAL:
            return "Literal[" + ", ".join(_python_literal(v) for v in self.literals) + "]"
        # typing's List/Dict: a resource method may be called ``list`` and shadow the builtin.
        if self.kind is TypeKind.LIST:
            return f"List[{self.args[0].annotation}]"
        if self.kind is TypeKind.DICT:
            return f"Dict[str, {self.args[0].annotation}]"
        if self.kind is TypeKind.MODEL:
            return self.model
        return " | ".join(member.annotation for member in self.args)

    @property
    def is_nullable(self) -> bool:
        return self.kind is TypeKind.NONE or (
            self.kind is TypeKind.UNION and any(m.kind is TypeKind.NONE for m in self.args)
        )

    @property
    def models(self) -> frozenset[str]:
        """Names of the model classes this annotation mentions (for imports)."""
        found = {self.model} if self.kind is TypeKind.MODEL else set()
        for member in self.args:
            found |= member.models
        return frozenset(found)

    @property
    def typing_names(self) -> frozenset[str]:
        """Names this annotation needs from ``typing``."""
        own = {TypeKind.ANY: "Any", TypeKind.LITERAL: "Literal", TypeKind.LIST: "List", TypeKind.DICT: "Dict"}
        found = {own[self.kind]} if self.kind in own else set()
        for member in self.args:
            found |= member.typing_names
        return frozenset(found)


def _python_literal(value: str | int | float | bool) -> str:
    # repr() of str/int/float/bool is always valid, single-line Python source.
    return repr(value)


def union(*members: TypeRef) -> TypeRef:
    """A flattened union without duplicates; ``None`` goes last, a single member stands alone."""
    flat: list[TypeRef] = []
    for member in members:
        for inner in member.args if member.kind is TypeKind.UNION else (member,):
            if inner not in flat:
                flat.append(inner)
    if any(m.kind is TypeKind.ANY for m in flat):
        return TypeRef(TypeKind.ANY)
    flat.sort(key=lambda m: m.kind is TypeKind.NONE)
    if len(flat) == 1:
        return flat[0]
    return TypeRef(TypeKind.UNION, tuple(flat))


@dataclass(frozen=True)
class PyString:
    """Text from the spec that the output carries as a Python string literal (never as code)."""

    text: str

    @property
    def literal(self) -> str:
        return repr(self.text)


@dataclass(frozen=True)
class Docstring:
    """A docstring body; ``literal`` is a safe triple-quoted literal, ready to lay out."""

    lines: tuple[str, ...]

    @property
    def literal(self) -> str:
        body = "\n".join(self.lines)
        escaped = (
            body.replace("\\", "\\\\")
            .replace('"""', '\\"\\"\\"')
            .translate(_CONTROL_ESCAPES)
        )
        if escaped.endswith('"'):
            escaped += " "
        return f'"""{escaped}\n"""' if "\n" in escaped else f'"""{escaped}"""'

    def __bool__(self) -> bool:
        return bool(self.lines)


# Control characters other than newline and tab would end up raw in source; escape them.
_CONTROL_ESCAPES = {
    code: f"\\x{code:02x}"
    for code in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]
} | {0x2028: "\\u2028", 0x2029: "\\u2029", 0x85: "\\x85", 0x0C: "\\x0c"}


@dataclass(frozen=True)
class Param:
    """One keyword argument of a generated method."""

    name: str  # Python identifier
    wire_name: PyString  # name on the wire (query key, header name, JSON property)
    location: ParamLocation
    type: TypeRef
    required: bool
    description: str = ""

    @property
    def annotation(self) -> str:
        """The annotation as written in the signature: optional ones also take NotGiven."""
        if self.required:
            return self.type.annotation
        return f"{self.type.annotation} | NotGiven"


class BodyEncoding(enum.Enum):
    JSON = "json"
    FORM = "form"
    MULTIPART = "multipart"
    BINARY = "binary"


@dataclass(frozen=True)
class Body:
    content_type: str
    encoding: BodyEncoding
    fields: tuple[Param, ...]  # flattened object properties, each a keyword argument
    whole: Param | None = None  # the body as one argument, when it is not an object


class StreamFormat(enum.Enum):
    SSE = "sse"
    NDJSON = "ndjson"


@dataclass(frozen=True)
class StreamSpec:
    format: StreamFormat
    event_type: TypeRef
    switch: Param | None  # the request field that turns streaming on (None: always streams)
    terminator: PyString | None  # a data payload that ends the stream, e.g. "[DONE]"

    @property
    def format_literal(self) -> str:
        return repr(self.format.value)


@dataclass(frozen=True)
class Operation:
    method_name: str
    http_method: str  # lower case
    path: PyString  # URL template with {name} placeholders renamed to Python identifiers
    operation_id: str
    pointer: str
    params: tuple[Param, ...]  # path, query, header and cookie parameters
    body: Body | None
    response_type: TypeRef  # parsed type of the success response (NONE for no content)
    stream: StreamSpec | None
    docstring: Docstring
    deprecated: bool = False

    @property
    def all_params(self) -> tuple[Param, ...]:
        """Signature order: required ones first, then the rest, each group in spec order."""
        everything = list(self.params) + list(self.body.fields if self.body else ())
        if self.body and self.body.whole:
            everything.append(self.body.whole)
        return tuple([p for p in everything if p.required] + [p for p in everything if not p.required])

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location is ParamLocation.PATH)

    @property
    def query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location is ParamLocation.QUERY)

    @property
    def header_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location is ParamLocation.HEADER)

    @property
    def cookie_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location is ParamLocation.COOKIE)

    @property
    def has_overloads(self) -> bool:
        return self.stream is not None and self.stream.switch is not None

    @property
    def always_streams(self) -> bool:
        return self.stream is not None and self.stream.switch is None

    @property
    def signature_params(self) -> tuple[Param, ...]:
        """Keyword-only parameters: all but the path parameters (positional) and the stream
        switch (which each overload spells itself)."""
        switch = self.stream.switch if self.stream else None
        return tuple(p for p in self.all_params if p is not switch and p.location is not ParamLocation.PATH)

    def returns(self, stream_class: str) -> str:
        """The implementation's return annotation; ``stream_class`` is Stream or AsyncStream."""
        if self.stream is None:
            return self.response_type.annotation
        streamed = f"{stream_class}[{self.stream.event_type.annotation}]"
        return streamed if self.always_streams else f"{self.response_type.annotation} | {streamed}"

    def streamed(self, stream_class: str) -> str:
        return f"{stream_class}[{self.stream.event_type.annotation}]" if self.stream else ""

    @property
    def models(self) -> frozenset[str]:
        found = set(self.response_type.models)
        for param in self.all_params:
            found |= param.type.models
        if self.stream:
            found |= self.stream.event_type.models
        return frozenset(found)

    @property
    def typing_names(self) -> frozenset[str]:
        found = set(self.response_type.typing_names)
        for param in self.all_params:
            found |= param.type.typing_names
        if self.stream:
            found |= self.stream.event_type.typing_names
        if self.has_overloads:
            found |= {"Literal", "overload"}
        return frozenset(found)


@dataclass(frozen=True)
class Resource:
    attribute: str  # client.<attribute>
    class_name: str  # sync resource class; the async one is "Async" + class_name
    module: str  # module under resources/
    operations: tuple[Operation, ...]
    children: tuple[Resource, ...] = ()

    @property
    def async_class_name(self) -> str:
        return "Async" + self.class_name

    @property
    def models(self) -> tuple[str, ...]:
        found: set[str] = set()
        for operation in self.operations:
            found |= operation.models
        return tuple(sorted(found))

    @property
    def typing_imports(self) -> tuple[str, ...]:
        found = {"TYPE_CHECKING"}
        for operation in self.operations:
            found |= operation.typing_names
        return tuple(sorted(found))

    @property
    def uses_path_params(self) -> bool:
        return any(op.path_params for op in self.operations)

    @property
    def uses_stream(self) -> bool:
        return any(op.stream for op in self.operations)



class AuthKind(enum.Enum):
    BEARER = "bearer"
    BASIC = "basic"
    API_KEY_HEADER = "api_key_header"
    API_KEY_QUERY = "api_key_query"


@dataclass(frozen=True)
class AuthScheme:
    kind: AuthKind
    argument: str  # constructor argument, e.g. "api_key"
    env_var: PyString | None
    wire_name: PyString | None  # header or query name for API keys

    @property
    def kind_literal(self) -> str:
        return repr(self.kind.value)


@dataclass(frozen=True)
class Model:
    class_name: str
    pointer: str


@dataclass(frozen=True)
class Api:
    package: str
    client_class: str
    async_client_class: str
    title: PyString
    version: PyString
    spec_label: str  # how the header names the spec (a relative path, never absolute)
    generator_version: str
    base_url: PyString
    base_url_env: PyString | None
    auth: AuthScheme | None
    resources: tuple[Resource, ...]
    models: tuple[Model, ...] = field(default=())

    @property
    def docstring(self) -> Docstring:
        return Docstring((f"Python client for {self.title.text or self.package}, generated by sdkforge.",))

    @property
    def env_vars(self) -> tuple[PyString, ...]:
        found = [self.auth.env_var] if self.auth and self.auth.env_var else []
        return tuple(found + ([self.base_url_env] if self.base_url_env else []))

    @property
    def default_header(self) -> str:
        return f"Generated by sdkforge {self.generator_version} from {self.spec_label}. Do not edit."
