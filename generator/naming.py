"""Every Python name the output uses is made here: identifiers, class names, module names.

Keywords, soft keywords, odd characters, leading digits, non-ASCII letters and collisions are
handled in this one place so that no other stage ever mangles a name.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
import unicodedata

MAX_NAME_LENGTH = 100  # of any identifier made from spec text (module names become file names)
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")

# Names the generated modules define or import themselves; a spec name may not shadow them.
RESERVED_CLASS_NAMES = frozenset(
    {
        "Any", "Annotated", "BaseModel", "ConfigDict", "Field", "Literal", "RootModel", "AnyUrl",
        "AwareDatetime", "NaiveDatetime", "Optional", "Union", "Enum", "StrEnum", "IntEnum", "Stream",
        "AsyncStream", "NotGiven", "Omit", "Headers", "Query", "Body", "Timeout", "datetime", "date",
        "time", "timedelta", "UUID", "Decimal", "TypeAlias", "Dict", "List", "Path", "Mapping",
        "Sequence", "SyncAPIClient", "AsyncAPIClient", "RequestOptions", "Type", "FileTypes", "TYPE_CHECKING",
    }
)
# Keyword arguments every generated method takes besides the spec's parameters.
RESERVED_PARAMETER_NAMES = frozenset({"self", "extra_headers", "extra_query", "extra_body", "timeout"}) | frozenset(
    # ...and names a method's body uses, which a parameter of that name would shadow: the
    # helpers it calls, its local variable, and the builtins ``cast_to`` may name.
    {"result", "format_path", "strip_not_given", "RequestOptions", "str", "int", "float", "bool", "bytes", "object"}
)
# Public attributes of the runtime's clients and resources: a resource may not take their names.
RESERVED_ATTRIBUTES = frozenset(
    {
        "with_options", "copy", "close", "with_raw_response", "with_streaming_response", "request",
        "base_url", "timeout", "max_retries", "strict_response_validation",
    }
)
# A method of these names would shadow, inside its class, a name that annotations use.
RESERVED_METHOD_NAMES = RESERVED_ATTRIBUTES | {"str", "int", "float", "bool", "bytes", "object", "type", "None"}


def words(text: str) -> list[str]:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    spaced = _WORD_BOUNDARY.sub(" ", ascii_text)
    return [w for w in _NON_WORD.split(spaced) if w]


def bounded(name: str, text: str) -> str:
    """``name`` cut to ``MAX_NAME_LENGTH`` characters if longer, ending in a hash of the whole
    ``text`` so that long names that start alike stay apart (file names have limits too)."""
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name[: MAX_NAME_LENGTH - 9].rstrip('_')}_{digest}"


def snake_identifier(text: str, fallback: str = "value") -> str:
    """``createCompletion`` -> ``create_completion``; always a valid, non-keyword identifier."""
    name = bounded("_".join(w.lower() for w in words(text)) or fallback, text)
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED_PARAMETER_NAMES:
        name += "_"
    return name


def pascal_identifier(text: str, fallback: str = "Model") -> str:
    """``create_completion_request`` -> ``CreateCompletionRequest``."""
    name = bounded("".join(w[:1].upper() + w[1:] for w in words(text)) or fallback, text)
    if name[0].isdigit():
        name = f"{fallback}{name}"
    if name in RESERVED_CLASS_NAMES or keyword.iskeyword(name) or keyword.iskeyword(name.lower()) or hasattr(builtins, name):
        name += "Model"  # ``Class`` is fine, but its module would be ``class``
    return name


def unique(name: str, taken: set[str], separator: str = "_", casefold: bool = False) -> str:
    """``name`` itself if free, else ``name_2``, ``name_3``...; the result is added to ``taken``.

    With ``casefold``, ``taken`` holds lower-case names and ``Dog`` collides with ``dog``.
    """
    fold = str.lower if casefold else str
    candidate, counter = name, 2
    while fold(candidate) in taken:
        candidate = f"{name}{separator}{counter}"
        counter += 1
    taken.add(fold(candidate))
    return candidate


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def method_name(operation_id: str, resource_words: list[str], http_method: str) -> str:
    """``createCompletion`` on resource ``completions`` -> ``create``; otherwise the snake name."""
    name = snake_identifier(operation_id, fallback=http_method) if operation_id else http_method
    parts = name.rstrip("_").split("_")
    if len(parts) > 1 and resource_words:
        rest = parts[1:]
        if rest in (resource_words, resource_words[:-1] + [singular(resource_words[-1])]):
            name = snake_identifier(parts[0], fallback=http_method)
    return name + "_" if name in RESERVED_METHOD_NAMES else name


def escape_ref_token(name: str) -> str:
    """A schema name as it appears inside a ``$ref`` JSON pointer."""
    return name.replace("~", "~0").replace("/", "~1")
