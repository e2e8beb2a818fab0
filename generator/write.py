"""Stage 6: write the generated tree atomically, and only ever files sdkforge owns.

The new tree is built in a temporary directory beside the target and swapped in with two
renames; an interrupted swap is undone on the next run, so a crash at any point leaves either
the previous tree or the new one. A manifest records which files sdkforge wrote: a file it
did not write is carried over untouched, a file it wrote before and no longer produces goes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

MANIFEST = ".sdkforge-manifest.json"


class OutputError(Exception):
    """The output directory cannot be written safely."""


def read_manifest(out: Path) -> set[str] | None:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(f"{out / MANIFEST}: unreadable manifest ({exc}); delete it and run with --force") from None
    return set(data.get("files", []))


def write_tree(out: Path, files: dict[PurePosixPath, str], *, force: bool = False) -> None:
    out = Path(os.path.abspath(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    old = out.parent / f".{out.name}.old"
    recover(out)
    owned = read_manifest(out) if out.exists() else set()
    existing = _relative_files(out) if out.exists() else set()
    if owned is None:
        if existing and not force:
            raise OutputError(
                f"{out} is not empty and was not written by sdkforge (no {MANIFEST}); "
                "choose another --out or pass --force to take it over"
            )
        owned = existing if force else set()
    foreign = existing - owned - {MANIFEST}
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        for relative, text in sorted(files.items()):
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
        for relative in sorted(foreign):  # files the user put there stay as they are
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / relative, target)
        manifest = {"generator": "sdkforge", "files": sorted(str(p) for p in files)}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            os.rename(out, old)
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        recover(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def recover(out: Path) -> None:
    """Finish or undo a swap that a previous run did not complete."""
    old = out.parent / f".{out.name}.old"
    if old.exists():
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)  # the new tree made it; drop the previous one
        else:
            os.rename(old, out)  # killed between the renames: put the previous tree back
    for stale in out.parent.glob(f".{out.name}.new-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _relative_files(root: Path) -> set[str]:
    return {
        PurePosixPath(path.relative_to(root)).as_posix()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc")
    }
