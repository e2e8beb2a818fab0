"""Problems the generator reports to people: where, what is wrong, what to do.

Every problem is one line, ``file:line:col: pointer: message (hint)``; a warning says so after
the pointer (``file:line:col: pointer: warning: message (hint)``). Errors stop generation,
warnings do not (unless ``--strict`` makes them errors).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class SpecProblem:
    file: str
    pointer: str  # JSON pointer, e.g. "#/paths/~1completions/post"
    message: str
    hint: str = ""
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    severity: Severity = Severity.ERROR

    @property
    def is_warning(self) -> bool:
        return self.severity is Severity.WARNING

    def format(self) -> str:
        where = _printable(self.file)
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        label = "warning: " if self.is_warning else ""
        text = f"{where}: {_printable(_short_pointer(self.pointer))}: {label}{_printable(self.message)}"
        return f"{text} ({_printable(self.hint)})" if self.hint else text

    def as_error(self) -> SpecProblem:
        return replace(self, severity=Severity.ERROR)

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.line or 0, self.column or 0, self.pointer, self.message)


class SpecError(Exception):
    """The spec cannot be turned into a client; carries every problem found (warnings too)."""

    def __init__(self, problems: Iterable[SpecProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(p.format() for p in self.problems))

    def __reduce__(self) -> tuple[type[SpecError], tuple[tuple[SpecProblem, ...]]]:
        return (SpecError, (self.problems,))  # raised in a worker process, re-raised here

    @property
    def errors(self) -> tuple[SpecProblem, ...]:
        return tuple(p for p in self.problems if not p.is_warning)


class ConfigError(Exception):
    """Configuration (pyproject.toml or flags) is unusable."""


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "#/" + "/".join(escape_pointer_token(str(t)) for t in tokens) if tokens else "#"


def _short_pointer(pointer: str, limit: int = 80) -> str:
    """The pointer as shown: a token longer than ``limit`` is cut (a 10,000-character schema
    name would otherwise fill the terminal)."""
    if len(pointer) <= limit:
        return pointer
    return "/".join(t if len(t) <= limit else f"{t[:limit - 20]}...({len(t):,} chars)" for t in pointer.split("/"))


def _printable(text: str) -> str:
    """One line of text a terminal shows as it is: control characters, line breaks and
    bidirectional overrides from the spec are spelled as escapes, so a message can neither
    span lines nor reorder what is printed around it."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
