"""Stage 5: format Python sources with black, in-process, pinned (the golden files depend on it)."""

from __future__ import annotations

from pathlib import PurePosixPath

import black

from .errors import SpecError, SpecProblem
from .render import RUNTIME_DIR

_MODE = black.Mode(
    target_versions={black.TargetVersion.PY310},
    line_length=100,
    string_normalization=True,
    magic_trailing_comma=True,
)


def format_files(files: dict[PurePosixPath, str]) -> dict[PurePosixPath, str]:
    """Format generated modules; the hand-written runtime is copied as its authors wrote it."""
    return {
        path: _format(path, text) if path.suffix == ".py" and RUNTIME_DIR not in path.parts else text
        for path, text in files.items()
    }


def _format(path: PurePosixPath, source: str) -> str:
    try:
        return black.format_str(source, mode=_MODE)
    except black.InvalidInput as exc:
        # A template or the models stage wrote invalid Python: a bug in sdkforge, not in the spec.
        raise SpecError([SpecProblem(str(path), "#", f"sdkforge produced invalid Python: {exc}",
                                     "please report this with the spec that caused it")]) from None
