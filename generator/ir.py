"""The intermediate representation: what the emitted package contains, decided once.

Lowering builds these frozen objects from the spec; rendering only reads them. Every name
the output uses is decided during lowering (see ``naming``) and stored here, and every
Python type annotation is spelled by ``TypeRef.annotation`` alone.
"""

from __future__ import annotations

import enum
import re
import shlex
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
    FILE = "file"  # a multipart file part: bytes, a file, a path or (name, content, type)


_PRIMITIVE_SPELLING = {
    TypeKind.ANY: "Any",
    TypeKind.OBJECT: "object",
    TypeKind.NONE: "None",
    TypeKind.STR: "str",
    TypeKind.INT: "int",
    TypeKind.FLOAT: "float",
    TypeKind.BOOL: "bool",
    TypeKind.BYTES: "bytes",
    TypeKind.FILE: "FileTypes",
}


@dataclass(frozen=True)
class TypeRef:
    """A Python type. ``args`` holds element types (LIST: 1, DICT: value type, UNION: members)."""

    kind: TypeKind
    args: tuple[TypeRef, ...] = ()
    literals: tuple[str | int | float | bool, ...] = ()
    model: str = ""
    module: str = ""  # MODEL: the module under types/ that defines the class

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
    def models(self) -> frozenset[tuple[str, str]]:
        """``(module, class)`` of every model this annotation mentions (for imports)."""
        found = {(self.module, self.model)} if self.kind is TypeKind.MODEL else set()
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
    return string_literal(value) if isinstance(value, str) else repr(value)


def string_literal(text: str) -> str:
    """``repr(text)``, in double quotes where that needs no escape, as black writes strings
    (the output of templates is then mostly black's already, and black's second pass is skipped)."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        # repr() escaped nothing quote-related: the same body is valid between double quotes.
        literal = '"' + literal[1:-1] + '"'
    return literal


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
        return string_literal(self.text)


@dataclass(frozen=True)
class Docstring:
    """A docstring body; ``literal`` is a safe triple-quoted literal, ready to lay out."""

    lines: tuple[str, ...]

    @property
    def literal(self) -> str:
        body = "\n".join(self.lines)
        escaped = escape_invisible(body.replace("\\", "\\\\").replace('"""', '\\"\\"\\"'))
        if escaped.endswith('"') and (len(escaped) - len(escaped[:-1].rstrip("\\")) - 1) % 2 == 0:
            escaped = escaped[:-1] + '\\"'  # an unescaped last quote would merge with the closing ones
        return f'"""{escaped}\n"""' if "\n" in escaped else f'"""{escaped}"""'

    def __bool__(self) -> bool:
        return bool(self.lines)


_HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_NOT_TOKEN = re.compile(r"[^!#$%&'*+.^_`|~0-9A-Za-z-]+")


def escape_invisible(text: str) -> str:
    """``text`` (the inside of a non-raw string literal) with every character that is not
    printable spelled as an escape: control characters (NUL, CR, ESC...), line and paragraph
    separators, and format characters such as right-to-left overrides, which would make the
    source read differently from what it does ("Trojan Source"). Newlines and tabs stay."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else ascii(ch)[1:-1] for ch in text)


class ParamStyle(enum.Enum):
    """How a query, header or cookie value is serialised (OpenAPI ``style``/``explode``)."""

    DEFAULT = "default"  # form + explode for query (repeated keys), simple for headers
    FORM = "form"  # comma-separated, not exploded
    SPACE_DELIMITED = "spaceDelimited"
    PIPE_DELIMITED = "pipeDelimited"
    DEEP_OBJECT = "deepObject"


@dataclass(frozen=True)
class Param:
    """One argument of a generated method."""

    name: str  # Python identifier
    wire_name: PyString  # name on the wire (query key, header name, JSON property)
    location: ParamLocation
    type: TypeRef
    required: bool
    description: str = ""
    style: ParamStyle = ParamStyle.DEFAULT
    is_file: bool = False  # a multipart file part

    @property
    def style_literal(self) -> str:
        return string_literal(self.style.value)

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
    content_type: PyString
    encoding: BodyEncoding
    fields: tuple[Param, ...]  # flattened object properties, each a keyword argument
    whole: Param | None = None  # the body as one argument, when it is not an object
    other_content_types: tuple[str, ...] = ()  # also accepted by the API; sent with extra_* options

    @property
    def encoding_literal(self) -> str:
        return string_literal(self.encoding.value)

    @property
    def data_fields(self) -> tuple[Param, ...]:
        return tuple(f for f in self.fields if not f.is_file)

    @property
    def file_fields(self) -> tuple[Param, ...]:
        return tuple(f for f in self.fields if f.is_file)

    @property
    def is_json(self) -> bool:
        return self.encoding is BodyEncoding.JSON

    @property
    def is_binary(self) -> bool:
        return self.encoding is BodyEncoding.BINARY


class StreamFormat(enum.Enum):
    """How the runtime splits a streamed body into items (``_streaming.STREAM_FORMATS``)."""

    SSE = "sse"  # text/event-stream: each event's data
    NDJSON = "ndjson"  # application/x-ndjson, application/jsonl: one JSON text per line
    JSON_SEQ = "json-seq"  # application/json-seq (RFC 7464): JSON texts after RS characters


@dataclass(frozen=True)
class StreamSpec:
    """How an operation streams; made by ``generator.streaming``."""

    format: StreamFormat
    event_type: TypeRef
    switch: Param | None  # the request field that turns streaming on (None: always streams)
    terminator: PyString | None  # a data payload that ends the stream, e.g. "[DONE]"
    default_on: bool = False  # the switch left out (NOT_GIVEN) streams: the field defaults to true

    @property
    def format_literal(self) -> str:
        return string_literal(self.format.value)

    @property
    def condition(self) -> str:
        """The expression, over the switch argument, that is true when the call streams."""
        if self.switch is None:
            return "True"
        return f"{self.switch.name} is not False" if self.default_on else f"{self.switch.name} is True"

    # The overload that returns the plain response, and the one that returns the stream: which
    # values of the switch each takes, and whether the argument may be left out.

    @property
    def plain_switch_annotation(self) -> str:
        if self.default_on:
            return "Literal[False]"
        nullable = self.switch is not None and self.switch.type.is_nullable
        return "Literal[False]" + (" | None" if nullable else "") + ("" if self.switch_required else " | NotGiven")

    @property
    def stream_switch_annotation(self) -> str:
        return "Literal[True]" + (" | NotGiven" if self.default_on and not self.switch_required else "")

    @property
    def switch_required(self) -> bool:
        return self.switch is not None and self.switch.required

    @property
    def plain_switch_required(self) -> bool:
        return self.default_on or self.switch_required

    @property
    def stream_switch_required(self) -> bool:
        return not self.default_on or self.switch_required


@dataclass(frozen=True)
class ExampleArg:
    """One argument of an example call in the generated docs."""

    name: str  # the Python parameter it is given to
    literal: str  # a Python literal made with repr() from a JSON value (see ``docs.python_literal``)
    positional: bool = False  # a path parameter


@dataclass(frozen=True)
class Example:
    """A call of an operation for the generated docs: from the spec's examples, or made up from
    the schemas (examples, defaults, enum values, placeholders) when it has none."""

    name: str  # the spec's key ("basic"); empty when made up or from a single ``example``
    summary: str
    args: tuple[ExampleArg, ...]
    streams: bool = False  # the call returns a stream
    from_spec: bool = True

    @property
    def positional_args(self) -> tuple[ExampleArg, ...]:
        return tuple(a for a in self.args if a.positional)

    @property
    def keyword_args(self) -> tuple[ExampleArg, ...]:
        return tuple(a for a in self.args if not a.positional)


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
    fixed_query: tuple[tuple[PyString, PyString], ...] = ()  # from a paths key like /x?beta=true
    accept: PyString | None = None  # the Accept header, when the success body is not JSON
    examples: tuple[Example, ...] = ()  # for the generated docs (see ``docs.operation_examples``)

    @property
    def primary_example(self) -> Example | None:
        """The example the docs show for the method: the first that does not stream."""
        return next((e for e in self.examples if not e.streams), self.examples[0] if self.examples else None)

    @property
    def streaming_example(self) -> Example | None:
        return next((e for e in self.examples if e.streams), None)

    @property
    def fixed_headers(self) -> tuple[tuple[str, PyString], ...]:
        """Headers the operation always sends: a non-JSON Accept, a raw body's Content-Type."""
        found: list[tuple[str, PyString]] = []
        if self.accept:
            found.append(("Accept", self.accept))
        if self.body and self.body.encoding is BodyEncoding.BINARY:
            found.append(("Content-Type", self.body.content_type))
        return tuple(found)

    @property
    def uses_strip_not_given(self) -> bool:
        """Whether the method builds a body, files, query, headers or cookies from its arguments."""
        return bool(
            (self.body and (not self.body.whole or self.body.file_fields))
            or self.query_params or self.fixed_query or self.header_params or self.fixed_headers or self.cookie_params
        )

    @property
    def styled_query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.query_params if p.style is not ParamStyle.DEFAULT)

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
    def cast_to(self) -> str:
        """The ``cast_to`` expression of the request: the type of the body or of each streamed item."""
        if self.stream is None:
            return self.response_type.annotation
        if self.always_streams or self.stream.event_type == self.response_type:
            return self.stream.event_type.annotation
        return f"{self.stream.event_type.annotation} if {self.stream.condition} else {self.response_type.annotation}"

    @property
    def models(self) -> frozenset[tuple[str, str]]:
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
    attribute: str  # the attribute on its parent: client.<attribute> or parent.<attribute>
    class_name: str  # sync resource class; the async one is "Async" + class_name
    module: str  # module under resources/ (a top-level resource and all below it share one)
    operations: tuple[Operation, ...]
    children: tuple[Resource, ...] = ()

    @property
    def async_class_name(self) -> str:
        return "Async" + self.class_name

    @property
    def subtree(self) -> tuple[Resource, ...]:
        """This resource and every resource below it, parents first."""
        found: list[Resource] = [self]
        for child in self.children:
            found.extend(child.subtree)
        return tuple(found)

    @property
    def all_operations(self) -> tuple[Operation, ...]:
        return tuple(op for resource in self.subtree for op in resource.operations)

    @property
    def models(self) -> tuple[tuple[str, str], ...]:
        """``(module, class)`` pairs the resource module imports, sorted."""
        found: set[tuple[str, str]] = set()
        for operation in self.all_operations:
            found |= operation.models
        return tuple(sorted(found))

    @property
    def typing_imports(self) -> tuple[str, ...]:
        found = {"TYPE_CHECKING"}
        for operation in self.all_operations:
            found |= operation.typing_names
        return tuple(sorted(found))

    @property
    def uses_path_params(self) -> bool:
        return any(op.path_params for op in self.all_operations)

    @property
    def uses_stream(self) -> bool:
        return any(op.stream for op in self.all_operations)

    @property
    def uses_files(self) -> bool:
        return any(op.body and op.body.file_fields for op in self.all_operations)

    @property
    def uses_strip_not_given(self) -> bool:
        return any(op.uses_strip_not_given for op in self.all_operations)


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
        return string_literal(self.kind.value)


@dataclass(frozen=True)
class Model:
    class_name: str
    pointer: str  # the $ref the models stage sees for it
    hoisted_schema: str = ""  # JSON of an inline schema the IR gave a name (empty: a component)
    module: str = ""  # the module under types/ that defines it


# The module under types/ that the models stage writes every model into.
MODELS_MODULE = "_models"
# What the emitted package needs at run time, as pyproject.toml ranges.
DEPENDENCIES = ("httpx>=0.27,<1", "pydantic>=2.7,<3")
REQUIRES_PYTHON = ">=3.10"


@dataclass(frozen=True)
class TomlString:
    """Text carried into a TOML file as a basic string (never as TOML syntax)."""

    text: str

    @property
    def literal(self) -> str:
        out = ['"']
        for ch in self.text:
            if ch in ('"', "\\"):
                out.append("\\" + ch)
            elif ch in _TOML_ESCAPES:
                out.append(_TOML_ESCAPES[ch])
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(f"\\u{ord(ch):04x}")
            elif 0xD800 <= ord(ch) < 0xE000:  # a lone surrogate cannot be written as UTF-8
                out.append("\ufffd")
            else:
                out.append(ch)
        return "".join(out) + '"'


_TOML_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


@dataclass(frozen=True)
class Distribution:
    """The package as pip sees it: what the emitted pyproject.toml and README say."""

    name: str  # the project name, e.g. "openai-client" (letters, digits, "-", "_", ".")
    version: str  # a PEP 440 version
    description: TomlString
    directory: str  # the output directory as the SDK repository names it, e.g. "generated"
    about: str = ""  # the spec's info.description (Markdown), for the README
    dependencies: tuple[str, ...] = DEPENDENCIES
    requires_python: str = REQUIRES_PYTHON

    @property
    def install_target(self) -> str:
        """``pip install`` argument for the output directory, quoted for a POSIX shell."""
        target = self.directory if self.directory.startswith(("/", ".")) else f"./{self.directory}"
        return shlex.quote(target)


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
    distribution: Distribution | None = None  # the emitted pyproject.toml (None: none emitted)

    @property
    def exported_models(self) -> tuple[Model, ...]:
        """Models the types package exports (those with a module), in name order."""
        return tuple(sorted((m for m in self.models if m.module), key=lambda m: m.class_name))

    @property
    def docstring(self) -> Docstring:
        return Docstring((f"Python client for {self.title.text or self.package}, generated by sdkforge.",))

    @property
    def all_resources(self) -> tuple[Resource, ...]:
        return tuple(r for top in self.resources for r in top.subtree)

    @property
    def operation_count(self) -> int:
        return sum(len(r.operations) for r in self.all_resources)

    @property
    def user_agent_product(self) -> PyString | None:
        """``package/version`` for the User-Agent header when the spec's ``info.version`` is not
        an HTTP token (spaces, quotes, line breaks, non-ASCII: a header cannot carry them, and
        every request would fail); None when ``__version__`` can be used as it is."""
        if _HTTP_TOKEN.fullmatch(self.version.text):
            return None
        version = _NOT_TOKEN.sub("-", self.version.text).strip("-") or "unknown"
        return PyString(f"{self.package}/{version}")

    @property
    def default_header(self) -> str:
        return f"Generated by sdkforge {self.generator_version} from {self.spec_label}. Do not edit."
