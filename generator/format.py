"""Stage 5: format Python sources with black, in-process, pinned (the golden files depend on it).

Black is the slowest stage on big specs, so the work is cut into top-level pieces (a class or
function with what precedes it), which black formats exactly as it would inside the whole file
because top-level definitions are always separated the same way. Pieces are then

- looked up in a cache keyed by black's version, its mode and the piece's text, so a
  regeneration after a small spec change formats only what changed, and
- formatted on every core when there are many of them.

The cache lives in ``$SDKFORGE_CACHE_DIR`` (default ``~/.cache/sdkforge``); set it to an empty
string to turn it off. It only ever skips work: the output is the same with or without it.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import multiprocessing
import os
import re
from pathlib import Path, PurePosixPath

import black

from .errors import SpecError, SpecProblem
from .render import RUNTIME_DIR

_MODE = black.Mode(
    target_versions={black.TargetVersion.PY310},
    line_length=100,
    string_normalization=True,
    magic_trailing_comma=True,
)
_PIECE_SIZE = 32_000  # characters; big enough that black's per-call overhead does not matter
_PARALLEL_FROM = 200_000  # characters to format before a process pool pays for itself
# A top-level definition that may start a new piece: "class X", "def f", "async def f", "@deco".
_TOP_LEVEL = re.compile(r"^(?:class |def |async def |@)", re.MULTILINE)


def format_files(files: dict[PurePosixPath, str]) -> dict[PurePosixPath, str]:
    """Format generated modules; the hand-written runtime is copied as its authors wrote it."""
    pieces: dict[PurePosixPath, list[str]] = {
        path: _pieces(text) for path, text in files.items() if path.suffix == ".py" and RUNTIME_DIR not in path.parts
    }
    cache = _Cache.from_environment()
    todo = sorted({piece for parts in pieces.values() for piece in parts if cache.get(piece) is None})
    formatted = dict(zip(todo, _format_all(todo)))
    for source, result in formatted.items():
        cache.put(source, result)
    out: dict[PurePosixPath, str] = {}
    for path, text in files.items():
        if path not in pieces:
            out[path] = text
            continue
        try:
            results = [formatted.get(piece) or cache.get(piece) or _format(piece) for piece in pieces[path]]
        except black.InvalidInput as exc:
            # A template or the models stage wrote invalid Python: a bug in sdkforge, not in the spec.
            raise SpecError([SpecProblem(str(path), "#", f"sdkforge produced invalid Python: {exc}",
                                         "please report this with the spec that caused it")]) from None
        out[path] = "\n\n".join(results)
    return out


def _pieces(source: str) -> list[str]:
    """Cut a module before top-level definitions that follow a blank line, in ~_PIECE_SIZE parts."""
    if len(source) <= _PIECE_SIZE:
        return [source]
    cuts = [0]
    for match in _TOP_LEVEL.finditer(source):
        start = match.start()
        if start - cuts[-1] >= _PIECE_SIZE and source[max(0, start - 2):start] == "\n\n" and _outside_decorators(source, start):
            cuts.append(start)
    cuts.append(len(source))
    return [source[a:b] for a, b in zip(cuts, cuts[1:])]


def _outside_decorators(source: str, start: int) -> bool:
    # Do not cut between a decorator and what it decorates.
    before = source[:start].rstrip("\n")
    last_line = before[before.rfind("\n") + 1:]
    return not last_line.startswith("@")


def _format(source: str) -> str:
    return black.format_str(source, mode=_MODE)


def _format_all(sources: list[str]) -> list[str]:
    if sum(map(len, sources)) < _PARALLEL_FROM or (os.cpu_count() or 1) < 2 or len(sources) < 2:
        return [_format_or_keep(s) for s in sources]
    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context) as pool:
        return list(pool.map(_format_or_keep, sources, chunksize=4))


def _format_or_keep(source: str) -> str:
    # Invalid pieces are reported by the caller, with the file they belong to.
    try:
        return _format(source)
    except black.InvalidInput:
        return ""


class _Cache:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.salt = f"{black.__version__}|{_MODE!r}|".encode()

    @classmethod
    def from_environment(cls) -> _Cache:
        configured = os.environ.get("SDKFORGE_CACHE_DIR")
        if configured == "":
            return cls(None)
        base = Path(configured) if configured else Path.home() / ".cache" / "sdkforge"
        return cls(base / f"black-{black.__version__}")

    def _path(self, source: str) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256(self.salt + source.encode("utf-8")).hexdigest()
        return self.directory / digest[:2] / digest

    def get(self, source: str) -> str | None:
        path = self._path(source)
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, source: str, result: str) -> None:
        path = self._path(source)
        if path is None or not result:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(result, encoding="utf-8")
            os.replace(temporary, path)  # atomic: concurrent runs never see half an entry
        except OSError:
            pass  # a read-only or full cache only costs time
