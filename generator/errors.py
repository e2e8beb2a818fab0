"""Problems the generator reports to people: where, what is wrong, what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecProblem:
    file: str
    pointer: str  # JSON pointer, e.g. "#/paths/~1completions/post"
    message: str
    hint: str = ""
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        text = f"{where}: {self.pointer}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class SpecError(Exception):
    """The spec cannot be turned into a client; carries every problem found."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        super().__init__("\n".join(p.format() for p in problems))
        self.problems = tuple(problems)


class ConfigError(Exception):
    """Configuration (pyproject.toml or flags) is unusable."""


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "#/" + "/".join(escape_pointer_token(str(t)) for t in tokens) if tokens else "#"
