"""Stage 3: pydantic models through datamodel-code-generator, pinned, every option spelled out.

The tool names classes itself (it also names the inline models it finds, so only it can avoid
every clash); its model metadata says which class each component schema became, and the IR is
lowered with exactly those names. A check after the fact confirms every reported class exists.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.resources
import io
import json
import keyword
import re
import tokenize
import unicodedata
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import FROM_ENVIRONMENT, ContentCache, _FromEnvironment
from .errors import SpecError, SpecProblem
from .ir import MODELS_MODULE, Model, escape_invisible
from .lower import nullable_object
from .naming import RESERVED_CLASS_NAMES, escape_ref_token

# allOf becomes subclassing; a spec may narrow a field's type in the subclass (an enum of
# fewer values, say), which pydantic accepts and mypy reports as an incompatible override.
MODELS_HEADER = (
    '# mypy: disable-error-code="assignment"\n'
    '"""The API\'s data types, as pydantic models (made by datamodel-code-generator)."""'
)

# Every option spelled out: the golden files depend on each of them.
DATAMODEL_OPTIONS: Mapping[str, Any] = {
    "output_model_type": "pydantic_v2.BaseModel",
    "target_python_version": "3.10",
    "use_annotated": True,
    "field_constraints": True,
    "use_union_operator": True,
    "use_standard_collections": True,
    "enum_field_as_literal": "all",
    "disable_timestamp": True,
    "use_double_quotes": True,
    "use_schema_description": True,
    "use_field_description": True,
    "use_title_as_name": False,
    "capitalise_enum_members": False,
    "snake_case_field": False,
    "treat_dot_as_module": False,
    "formatters": [],  # black runs once, in-process, in the format stage
    # Replaced by a relative import of the runtime's APIModel in the render stage. APIModel's
    # config (extra="allow": responses may carry fields the spec does not know yet;
    # populate_by_name) is inherited: no class repeats it.
    "base_class": "sdkforge_runtime_placeholder.APIModel",
}


@dataclass(frozen=True)
class ModelsModule:
    """The models, one module per class (classes that refer to each other in a cycle share an
    ``_internal`` module), so that importing one model imports only what it needs."""

    sources: Mapping[str, str]  # module name under types/ -> its source (unformatted)
    classes: Mapping[str, str]  # "#/components/schemas/X" -> the class it became
    modules: Mapping[str, str]  # "#/components/schemas/X" -> the module that defines it


def build_models(document: Mapping[str, Any], hoisted: tuple[Model, ...], label: str,
                 expected: Mapping[str, str] | None = None,
                 cache_root: Path | None | _FromEnvironment = FROM_ENVIRONMENT) -> ModelsModule:
    """Run datamodel-code-generator once and read back, from its model metadata, which class
    each component schema became and where: the IR then uses exactly those names.

    ``expected`` maps schema pointers to the class names the IR would give them: where the
    metadata lists several classes for one schema, that one is the schema's own. ``cache_root``:
    where the caches are (default: from the environment), None: no cache."""
    normalized, renamed = _safe_class_names(normalize_for_models(document, hoisted))
    if not normalized["components"]["schemas"]:
        return ModelsModule({}, {}, {})
    cache, key = _cache_and_key(normalized, renamed, expected, cache_root)
    cached = _from_cache(cache, key)
    if cached is not None:
        return cached
    models = _build(normalized, renamed, label, expected)
    cache.put(key, json.dumps({"sources": models.sources, "classes": models.classes, "modules": models.modules}))
    return models


def _cache_and_key(normalized: Mapping[str, Any], renamed: Mapping[str, str],
                   expected: Mapping[str, str] | None, cache_root: Path | None | _FromEnvironment) -> tuple[ContentCache, str]:
    """The models depend only on the schemas given to datamodel-code-generator, its version and
    options, and this module's code: a spec whose schemas did not change (only its operations
    did, or nothing) skips the slowest stage."""
    from datamodel_code_generator import get_version

    code = importlib.resources.files("generator").joinpath("models.py").read_bytes()
    salt = hashlib.sha256(code).hexdigest()  # any change to this module invalidates the entries
    cache = ContentCache.from_environment(f"models-{get_version()}", f"{salt}|{DATAMODEL_OPTIONS!r}", cache_root)
    try:
        key = json.dumps([normalized, sorted(renamed.items()), sorted((expected or {}).items())],
                         sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return ContentCache(None, ""), ""  # not plain JSON data: no caching
    return cache, key


def _from_cache(cache: ContentCache, key: str) -> ModelsModule | None:
    text = cache.get(key)
    if text is None:
        return None
    try:
        stored = json.loads(text)
        return ModelsModule(dict(stored["sources"]), dict(stored["classes"]), dict(stored["modules"]))
    except (ValueError, KeyError, TypeError):
        return None  # a damaged entry: make the models again


def _build(normalized: Mapping[str, Any], renamed: Mapping[str, str], label: str,
           expected: Mapping[str, str] | None) -> ModelsModule:
    # One module: the generator's one-module-per-class mode names some union members after the
    # union (which then refers to itself) on most real specs, and running it only to fall back
    # doubled the time of the slowest stage. Import cost stays low anyway: types/ and the
    # resources load on first use.
    sources, entries = _run_datamodel(normalized, label)
    classes: dict[str, str] = {}
    modules: dict[str, str] = {}
    for entry in entries:
        ref = "#" + str(entry["source_ref"]).split("#", 1)[-1]
        ref = renamed.get(ref, ref)
        if ref.count("/") == 3 and ref.startswith("#/components/schemas/"):
            # A schema used as a union member or an allOf part gets, besides its own class,
            # subclasses named after where it is used ("ToolChoice42"): the API means its own.
            if expected and ref in classes and classes[ref] == expected.get(ref):
                continue
            classes[ref] = str(entry["class_name"])
            modules[ref] = str(entry["module"])
    _check_classes(sources, classes, modules, label)
    return ModelsModule(sources, classes, modules)


def _run_datamodel(normalized: Mapping[str, Any], label: str) -> tuple[dict[str, str], list[Any]]:
    """Module name -> source (one module, ``_models``), and the model metadata entries."""
    from datamodel_code_generator import Error as DatamodelError
    from datamodel_code_generator import InputFileType, generate  # heavy: import only when used

    with tempfile.TemporaryDirectory(prefix="sdkforge-models-") as scratch:
        output = Path(scratch) / "_models.py"
        metadata = Path(scratch) / "models.json"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its format warnings are about models we do not change
            try:
                generate(
                    normalized,
                    input_file_type=InputFileType.OpenAPI,
                    output=output,
                    emit_model_metadata=metadata,
                    custom_file_header=MODELS_HEADER,
                    **DATAMODEL_OPTIONS,
                )
            except DatamodelError as exc:  # a schema the validate stage let through: where, not a traceback
                raise SpecError([_datamodel_problem(label, exc)]) from None
        sources = {MODELS_MODULE: closer_to_black(visible_strings(output.read_text(encoding="utf-8")))}
        entries = json.loads(metadata.read_text(encoding="utf-8"))["models"]
    return sources, [{**entry, "module": MODELS_MODULE} for entry in entries]


def warm_up() -> None:
    """Run datamodel-code-generator once on a one-schema document: its first run imports most
    of it and compiles its templates (~0.35 s), which a worker can do before the spec is read."""
    tiny = {"openapi": "3.1.0", "info": {"title": "warm-up", "version": "0"}, "paths": {},
            "components": {"schemas": {"Item": {"type": "object", "properties": {"name": {"type": "string"}}}}}}
    _run_datamodel(tiny, "warm-up")


def _datamodel_problem(label: str, exc: Exception) -> SpecProblem:
    text = " ".join(str(exc).split())
    found = re.search(r"schema path '(#[^']*)'", text)
    where = found.group(1) if found else "#/components/schemas"
    reason = text.split(": ", 1)[-1] if found else text
    return SpecProblem(label, where, f"datamodel-code-generator cannot make a model of this schema: {reason[:300]}",
                       "check the schema's keywords and their values")


def closer_to_black(source: str) -> str:
    """``source`` with two of black's rules applied where they are trivial: simple strings in
    double quotes, and a blank line after each class docstring.

    The format stage still runs black over all of it; but black formats everything a second time
    when its first pass changed anything, and these two rules were what it changed in most of
    datamodel-code-generator's classes. With them, most classes take one pass instead of two."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    edits: list[tuple[int, int, str]] = []  # (begin, end, replacement) in offsets of source
    recent: list[tokenize.TokenInfo] = []  # the last significant tokens
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT):
                continue
            if token.type == tokenize.STRING and _single_quoted_without_quotes(token.string):
                begin = starts[token.start[0] - 1] + token.start[1]
                end = starts[token.end[0] - 1] + token.end[1]
                edits.append((begin, end, '"' + token.string[1:-1] + '"'))  # what black makes of it
            if token.type == tokenize.NEWLINE and _ends_class_docstring(recent):
                following = token.end[0] + 1
                if following <= len(lines) and not _blank_or_dedent(lines[following - 1], recent[-1]):
                    edits.append((starts[following - 1], starts[following - 1], "\n"))
            recent = (recent + [token])[-4:]
    except (tokenize.TokenError, SyntaxError):
        return source  # not Python: the format stage reports it
    out: list[str] = []
    done = 0
    for begin, end, text in sorted(edits):
        out.append(source[done:begin] + text)
        done = end
    return "".join(out) + source[done:]


def _single_quoted_without_quotes(text: str) -> bool:
    # Black's quote rule changes only the quotes of such a string: no prefix, no escaped quote.
    return text[:1] == "'" and text[:3] != "'''" and '"' not in text and "\\'" not in text


def _ends_class_docstring(recent: list[tokenize.TokenInfo]) -> bool:
    # ":" NEWLINE INDENT STRING, the ":" ending a "class ..." line, then this NEWLINE.
    if [t.type for t in recent] != [tokenize.OP, tokenize.NEWLINE, tokenize.INDENT, tokenize.STRING]:
        return False
    return recent[0].string == ":" and recent[0].line.lstrip().startswith("class ")


def _blank_or_dedent(line: str, docstring: tokenize.TokenInfo) -> bool:
    # Black puts no blank line after the docstring of a class that ends with it.
    return not line.strip() or len(line) - len(line.lstrip()) < docstring.start[1]


def visible_strings(source: str) -> str:
    """``source`` with the invisible characters of every string literal and comment written as escapes.

    datamodel-code-generator copies descriptions into docstrings with only backslashes,
    triple quotes and NUL escaped: control characters, carriage returns and right-to-left
    overrides from the spec would stand raw in the source (changing what a docstring says, or
    what a reader sees). The values stay the same; only their spelling changes."""
    if _visible(source):
        return source
    lines = io.StringIO(source).readlines()
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    pieces: list[str] = []
    done = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in (tokenize.STRING, tokenize.COMMENT):
                continue
            begin = starts[token.start[0] - 1] + token.start[1]
            end = starts[token.end[0] - 1] + token.end[1]
            text = source[begin:end]
            if token.type == tokenize.COMMENT:
                pieces.append(source[done:begin] + escape_invisible(text))
                done = end
                continue
            prefix = text[: len(text) - len(text.lstrip("rRbBuUfF"))]
            if "f" in prefix.lower() or _visible(text):
                respelled = text  # nothing to do (datamodel-code-generator writes no f-strings)
            elif "r" in prefix.lower() or re.search(r"(?<!\\)(?:\\\\)*\\[^\x20-\x7e]", text):
                respelled = repr(ast.literal_eval(text))  # escapes cannot be added inside: spell it anew
            else:
                respelled = escape_invisible(text)
            pieces.append(source[done:begin] + respelled)
            done = end
    except (tokenize.TokenError, SyntaxError, ValueError):
        return source  # not Python: the format stage reports it
    return "".join(pieces) + source[done:]


def _visible(text: str) -> bool:
    # Every character printable, or a newline or a tab (str methods: C speed on megabytes).
    return text.replace("\n", "").replace("\t", "").isprintable()


def _safe_class_names(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The document with schemas renamed whose module name would be a keyword, and the renamed
    pointers mapped back to the original ones.

    datamodel-code-generator names a model's module after its class in snake case, keyword or
    not (a schema ``class`` gave ``from ..types.class import Class``), and does not know the
    names the resource modules import (a schema ``list`` became a class ``List`` that shadowed
    ``typing.List`` there). Such a schema goes to it as ``classModel`` (class ``ClassModel``
    in module ``class_model``). A name Python would read otherwise (identifiers are NFKC: ``º``
    is ``o``) goes to it in that form."""
    schemas = document["components"]["schemas"]
    renames: dict[str, str] = {}
    for name in schemas:
        pascal = "".join(w[:1].upper() + w[1:] for w in re.split(r"[^0-9A-Za-z]+", str(name)) if w)
        folded = unicodedata.normalize("NFKC", str(name))
        if folded != name:  # Python reads identifiers in NFKC: a class "º" would be defined as "o"
            new = folded
        elif keyword.iskeyword(pascal.lower()) or pascal in RESERVED_CLASS_NAMES or name in RESERVED_CLASS_NAMES:
            new = f"{name}Model"
        else:
            continue
        while new in schemas or new in renames.values():
            new += "Model" if new == folded else "_"
        renames[name] = new
    if not renames:
        return document, {}
    prefix = "#/components/schemas/"
    pointers = {prefix + escape_ref_token(old): prefix + escape_ref_token(new) for old, new in renames.items()}

    def moved(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: moved(value) for key, value in node.items()}
        if isinstance(node, list):
            return [moved(item) for item in node]
        if isinstance(node, str) and node.startswith(prefix):
            head, sep, tail = node[len(prefix):].partition("/")
            old = prefix + head
            return pointers[old] + sep + tail if old in pointers else node
        return node

    new_schemas = {renames.get(name, name): moved(schema) for name, schema in schemas.items()}
    components = {**document["components"], "schemas": new_schemas}
    return {**document, "components": components}, {new: old for old, new in pointers.items()}


def normalize_for_models(document: Mapping[str, Any], hoisted: tuple[Model, ...] = ()) -> dict[str, Any]:
    """The document as datamodel-code-generator should see it.

    - paths are dropped: only component schemas become models, operations are the IR's;
    - an "object or null" component becomes the object, and references to it ``anyOf`` the
      object and null, so that its class is the object's (as ``lower.model_ref`` decided);
    - inline schemas the IR named (``hoisted``) become components under the IR's pointers;
    - a ``$ref`` loses its sibling annotations (3.1 allows them; they would fork the model);
    - a ``default`` of another type than its schema is dropped, and so are defaults of whole
      components and of lists or maps of models (the generator writes them as raw JSON where
      a model is expected);
    - a ``default`` beside ``anyOf``/``oneOf``/``allOf`` is dropped: the generator would copy
      it onto every branch, or assign a plain string to a model-typed field.
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
        new_schemas[name] = _rewrite(_without_default(schema), unwrapped)
    for model in hoisted:
        new_schemas[model.pointer.rsplit("/", 1)[1]] = _rewrite(json.loads(model.hoisted_schema), unwrapped)
    components["schemas"] = new_schemas
    return {**document, "paths": {}, "components": components}


def _rewrite(node: Any, unwrapped: set[str]) -> Any:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            # Siblings of a $ref (description, title, examples...) would make the generator copy
            # the referenced model under a new name; only nullability changes the type.
            if ref in unwrapped or node.get("nullable") is True:
                return {"anyOf": [{"$ref": ref}, {"type": "null"}]}
            return {"$ref": ref}
        drop_default = (
            any(key in node for key in ("anyOf", "oneOf", "allOf"))
            or not _default_fits(node)
            or _refers_to_model(node.get("items")) or _refers_to_model(node.get("additionalProperties"))
        )
        # Every model keeps unknown fields (APIModel's extra="allow"): the generator would write
        # extra="forbid" into the classes of closed objects.
        closed = node.get("additionalProperties") is False and (node.get("type") == "object" or "properties" in node)
        return {key: _rewrite(value, unwrapped) for key, value in node.items()
                if not (drop_default and key == "default") and not (closed and key == "additionalProperties")}
    if isinstance(node, list):
        return [_rewrite(item, unwrapped) for item in node]
    return node


def _root_is_itself(node: ast.ClassDef) -> bool:
    """``class X(RootModel["X"])`` or ``RootModel[Union["X", int]]``: the root type names the class
    being defined (outside a ``Literal[...]``, where the same text is only a value)."""

    def names_itself(expr: ast.AST) -> bool:
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name) and expr.value.id == "Literal":
            return False
        if isinstance(expr, ast.Constant) and expr.value == node.name:
            return True
        if isinstance(expr, ast.Name) and expr.id == node.name:
            return True
        return any(names_itself(child) for child in ast.iter_child_nodes(expr))

    return any(
        isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) and base.value.id == "RootModel"
        and names_itself(base.slice)
        for base in node.bases
    )


_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,), "boolean": (bool,), "integer": (int,), "number": (int, float),
    "array": (list,), "object": (dict,), "null": (type(None),),
}


def _without_default(schema: Any) -> Any:
    # A component's own default is copied, as raw JSON, onto every field that refers to it.
    return {k: v for k, v in schema.items() if k != "default"} if isinstance(schema, Mapping) else schema


def _refers_to_model(schema: Any) -> bool:
    return isinstance(schema, Mapping) and "$ref" in schema


def _default_fits(node: Mapping[str, Any]) -> bool:
    """Whether a schema's default has the schema's type (specs say ``default: "false"``)."""
    if "default" not in node or "type" not in node:
        return True
    declared = node["type"] if isinstance(node["type"], list) else [node["type"]]
    value = node["default"]
    for name in declared:
        kinds = _JSON_TYPES.get(str(name), ())
        if isinstance(value, kinds) and not (isinstance(value, bool) and name in ("integer", "number")):
            return True
    return value is None and node.get("nullable") is True


def _check_classes(sources: Mapping[str, str], classes: Mapping[str, str], modules: Mapping[str, str], label: str) -> None:
    """Every class the metadata reports is defined in the module it names."""
    defined: dict[str, set[str]] = {}
    self_referring: list[str] = []
    for module, source in sources.items():
        names = defined.setdefault(module, set())
        for node in ast.parse(source).body:
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
                if _root_is_itself(node):
                    self_referring.append(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
    if self_referring:
        # A union whose members the generator named after the union itself: it could only
        # recurse forever when used, so stop here with the names rather than emit it.
        raise SpecError([SpecProblem(label, "#/components/schemas", f"internal error: model {name!r} would be a union of "
                                     "itself", "report this spec to the sdkforge maintainers") for name in sorted(self_referring)])
    missing = sorted(ref for ref, name in classes.items() if name not in defined.get(modules.get(ref, ""), set()))
    if missing:
        raise SpecError(
            [
                SpecProblem(label, ref, f"datamodel-code-generator reported class {classes[ref]!r} in module "
                            f"{modules.get(ref)!r} but did not emit it there", "report this spec to the sdkforge maintainers")
                for ref in missing
            ]
        )
