"""Stage 5: format Python sources with black, as a library, pinned (the golden files depend on it).

Black is the slowest stage on big specs, so the work is cut into top-level pieces (a class or
function with what precedes it), which black formats exactly as it would inside the whole file
because top-level definitions are always separated the same way (two blank lines). Pieces are then

- looked up in a cache keyed by black's version, its mode and the piece's text, so a
  regeneration after a small spec change formats only what changed,
- formatted by the worker processes (see ``workers``), and
- started early, from a provisional rendering made while the models stage runs: most pieces
  come out the same in the final rendering, and only those that changed are formatted again.

The cache lives in ``$SDKFORGE_CACHE_DIR`` (default ``~/.cache/sdkforge``); set it to an empty
string to turn it off. It only ever skips work: the output is the same with or without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import PurePosixPath

import black

from . import workers
from .cache import ContentCache
from .errors import SpecError, SpecProblem
from .render import RUNTIME_DIR

_MODE = black.Mode(
    target_versions={black.TargetVersion.PY310},
    line_length=100,
    string_normalization=True,
    magic_trailing_comma=True,
)
_BATCH_SIZE = 24_000  # characters of pieces handed to a worker at once (~0.1 s of black)
# A top-level definition that may start a new piece: "class X", "def f", "async def f", "@deco".
_TOP_LEVEL = re.compile(r"^(?:class |def |async def |@)", re.MULTILINE)


class Formatter:
    """Formats the Python files of one generation. Pieces may be handed to the workers early
    (``prefetch``): the final ``format_files`` reuses every result whose piece came out the same."""

    def __init__(self) -> None:
        self.cache = ContentCache.from_environment(f"black-{black.__version__}", f"{black.__version__}|{_MODE!r}")
        self.known: dict[str, str] = {}  # piece -> its formatted text, from the cache
        # piece -> the batch formatting it in a worker, and its place in that batch
        self.started: dict[str, tuple[Future[list[str]], int]] = {}

    def prefetch(self, files: Mapping[PurePosixPath, str], pool: str = workers.GENERAL) -> None:
        """Start formatting ``files`` (a provisional rendering) on the workers of ``pool``, if
        there are workers (by default not the one the models stage runs on)."""
        if workers.parallel():
            self._start(_pieces_of(files), pool)

    def format_files(self, files: Mapping[PurePosixPath, str]) -> dict[PurePosixPath, str]:
        """Format generated modules; the hand-written runtime is copied as its authors wrote it."""
        pieces = _pieces_of(files)
        needed = {piece for parts in pieces.values() for piece in parts}
        useful = {id(self.started[piece][0]) for piece in needed if piece in self.started}
        for batch, _ in self.started.values():
            if id(batch) not in useful:
                batch.cancel()  # from a provisional rendering that changed since
        self._start(pieces, workers.ANY)
        out: dict[PurePosixPath, str] = {}
        for path, text in files.items():
            if path in pieces:
                out[path] = "\n\n".join(self._result(path, piece) for piece in pieces[path])
            else:
                out[path] = text
        return out

    def cancel(self) -> None:
        for batch, _ in self.started.values():
            batch.cancel()

    def _start(self, pieces: Mapping[PurePosixPath, list[str]], pool: str) -> None:
        todo: list[str] = []
        for piece in _largest_first(pieces):
            if piece in self.known or piece in self.started:
                continue
            cached = self.cache.get(piece)
            if cached is not None:
                self.known[piece] = cached
            else:
                todo.append(piece)
        # In batches: a task per piece would cost more in handing over than black takes on most.
        while todo:
            size, count = 0, 0
            while count < len(todo) and (count == 0 or size + len(todo[count]) <= _BATCH_SIZE):
                size += len(todo[count])
                count += 1
            batch, todo = todo[:count], todo[count:]
            future = workers.submit(_format_batch, batch, pool=pool, cost=size)
            for index, piece in enumerate(batch):
                self.started[piece] = (future, index)

    def _result(self, path: PurePosixPath, piece: str) -> str:
        if piece in self.known:
            return self.known[piece]
        batch, index = self.started[piece]
        result = workers.result(batch)[index]
        if not result:
            try:
                _format(piece)  # again, here, for black's message
            except black.InvalidInput as exc:
                # A template or the models stage wrote invalid Python: a bug in sdkforge, not in the spec.
                raise SpecError([SpecProblem(str(path), "#", f"sdkforge produced invalid Python: {exc}",
                                             "please report this with the spec that caused it")]) from None
        self.cache.put(piece, result)
        self.known[piece] = result
        return result


def format_files(files: Mapping[PurePosixPath, str], formatter: Formatter | None = None) -> dict[PurePosixPath, str]:
    """Format generated modules (with ``formatter``'s early results, if given)."""
    return (formatter or Formatter()).format_files(files)


def _pieces_of(files: Mapping[PurePosixPath, str]) -> dict[PurePosixPath, list[str]]:
    return {path: _pieces(text) for path, text in files.items() if path.suffix == ".py" and RUNTIME_DIR not in path.parts}


def _largest_first(pieces: Mapping[PurePosixPath, list[str]]) -> list[str]:
    # Longest tasks first: the workers then finish at about the same time.
    return sorted({piece for parts in pieces.values() for piece in parts}, key=lambda piece: (-len(piece), piece))


def _pieces(source: str) -> list[str]:
    """Cut a module before every top-level definition that follows a blank line.

    The cuts depend only on the text around them, so a change in one definition (a class name
    the models stage chose otherwise) leaves every other piece as it was."""
    cuts = [0]
    for match in _TOP_LEVEL.finditer(source):
        start = match.start()
        if start > cuts[-1] and source[max(0, start - 2):start] == "\n\n" and _outside_decorators(source, start):
            cuts.append(start)
    cuts.append(len(source))
    # Without the blank lines that end all but the last: a piece already in black's form then takes
    # one pass of black, not two (it formats again whenever the first pass changed anything).
    return [source[a:b].rstrip("\n") + "\n" for a, b in zip(cuts, cuts[1:])]


def _outside_decorators(source: str, start: int) -> bool:
    # Do not cut between a decorator and what it decorates.
    before = source[:start].rstrip("\n")
    last_line = before[before.rfind("\n") + 1:]
    return not last_line.startswith("@")


def _format(source: str) -> str:
    return black.format_str(source, mode=_MODE)


def _format_batch(sources: list[str]) -> list[str]:
    return [_format_or_keep(source) for source in sources]


def _format_or_keep(source: str) -> str:
    # Invalid pieces are reported by the caller, with the file they belong to.
    try:
        return _format(source)
    except black.InvalidInput:
        return ""
