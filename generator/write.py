"""Stage 6: write the generated tree atomically, and only ever files sdkforge owns.

The new tree is built in a staging directory beside the target and swapped in with two
renames (``out`` -> ``.out.old``, staging -> ``out``); the next run finishes or undoes a
swap that was interrupted, so a crash at any point leaves either the previous tree or the
new one. Runs on the same ``out`` take turns (a lock on the parent directory).

A manifest (``.sdkforge-manifest.json``) records which files sdkforge wrote, with their
SHA-256. A file it did not write is carried over exactly as it is (hard-linked: same inode,
same bytes, same mode and times; symlinks stay symlinks, empty directories stay), a file it
wrote before and no longer produces goes. A directory that has files but no manifest is
refused unless ``force``: then its files are kept too, and those at paths sdkforge
generates are replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import secrets
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

MANIFEST = ".sdkforge-manifest.json"
MANIFEST_VERSION = 2


class OutputError(Exception):
    """The output directory cannot be written safely."""


def read_manifest(out: Path) -> set[str] | None:
    """The files a previous run wrote into ``out`` (relative POSIX paths), or None without a manifest."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(f"{out / MANIFEST}: unreadable manifest ({exc}); delete it and run with --force") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, (list, dict)) or not all(isinstance(f, str) for f in files):
        raise OutputError(f"{out / MANIFEST}: not an sdkforge manifest; delete it and run with --force")
    return {f for f in files if _is_safe_relative(f)}


def manifest_text(files: dict[PurePosixPath, str]) -> str:
    """The manifest for a tree: sorted, hashed, nothing that depends on time or place."""
    hashes = {str(path): hashlib.sha256(text.encode("utf-8")).hexdigest() for path, text in sorted(files.items(), key=lambda i: str(i[0]))}
    return json.dumps({"generator": "sdkforge", "manifest_version": MANIFEST_VERSION, "files": hashes}, indent=2) + "\n"


def write_tree(out: Path, files: dict[PurePosixPath, str], *, force: bool = False) -> None:
    for relative in files:
        if not _is_safe_relative(str(relative)) or str(relative) == MANIFEST:
            raise OutputError(f"refusing to write {str(relative)!r}: not a plain path inside the output directory")
    out = Path(os.path.realpath(out))  # a symlinked --out: swap the directory it points at
    if out.parent == out:
        raise OutputError(f"refusing to use {out} as the output directory")
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        raise OutputError(f"refusing to replace {out}: it contains the current directory; choose an --out inside it")
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out.parent):
        recover(out)
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out} exists and is not a directory")
        _write_locked(out, files, force)


def _write_locked(out: Path, files: dict[PurePosixPath, str], force: bool) -> None:
    old = out.parent / f".{out.name}.old"
    entries = _entries(out) if out.exists() else {}
    existing = {path for path, kind in entries.items() if kind != "dir"}
    owned = read_manifest(out) if out.exists() else set()
    if owned is None:
        if existing and not force:
            raise OutputError(
                f"{out} is not empty and was not written by sdkforge (no {MANIFEST}); "
                "choose another --out, or pass --force to generate into it (its other files are kept)"
            )
        owned = set()
    generated = {str(p) for p in files}
    foreign = {path: kind for path, kind in entries.items() if path not in owned and path != MANIFEST}
    generated_dirs = {str(parent) for p in files for parent in p.parents if str(parent) != "."}
    clashes = sorted(f for f, kind in foreign.items() if _in_the_way(f, kind, generated, generated_dirs))
    if clashes and not force:
        raise OutputError(
            f"{out / clashes[0]} was not written by sdkforge but the new client has a file there"
            + (f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else "")
            + "; move it away, or pass --force to replace it"
        )
    staging = _make_staging(out)
    try:
        if out.exists():
            shutil.copystat(out, staging)
        for relative, kind in sorted(foreign.items()):  # what the user put there stays as it is
            if _in_the_way(relative, kind, generated, generated_dirs):
                continue  # replaced (only with --force)
            _carry_over(out / relative, staging / relative, kind)
        for name, text in sorted(files.items(), key=lambda i: str(i[0])):
            _write_file(staging / name, text.encode("utf-8"))
        _write_file(staging / MANIFEST, manifest_text(files).encode("utf-8"))
        _fsync_dir(staging)
        if out.exists():
            os.rename(out, old)
        os.rename(staging, out)
        _fsync_dir(out.parent)
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


def _entries(root: Path) -> dict[str, str]:
    """Everything under ``root`` by relative POSIX path: "file", "link" or "dir" (only empty
    directories are listed; the others are implied). Python's caches are left out."""
    found: dict[str, str] = {}
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in [*dirnames, *filenames]:
            path = base / name
            relative = PurePosixPath(path.relative_to(root)).as_posix()
            if path.is_symlink():
                found[relative] = "link"
            elif path.is_dir():
                if not any(True for _ in os.scandir(path)):
                    found[relative] = "dir"
            else:
                found[relative] = "file"
    return found


def _carry_over(source: Path, target: Path, kind: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dir":
        target.mkdir(exist_ok=True)
        shutil.copystat(source, target)
        return
    try:
        os.link(source, target, follow_symlinks=False)  # the same file, not a copy
    except OSError:
        if kind == "link":
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One sdkforge run at a time in ``directory`` (an advisory lock on the directory itself,
    so no lock file is left behind)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locking
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _make_staging(out: Path) -> Path:
    """An empty directory beside ``out`` with the usual permissions (mkdtemp's are 0700)."""
    while True:
        staging = out.parent / f".{out.name}.new-{secrets.token_hex(6)}"
        try:
            staging.mkdir(0o777)
            return staging
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def _in_the_way(entry: str, kind: str, generated: set[str], generated_dirs: set[str]) -> bool:
    """Whether something of the user's sits where the new tree has a file, or is a file where
    the new tree needs a directory."""
    parts = PurePosixPath(entry).parts
    if entry in generated or any("/".join(parts[:n]) in generated for n in range(1, len(parts))):
        return True
    return kind != "dir" and entry in generated_dirs


def _is_safe_relative(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and ".." not in parts and "\\" not in path and "\0" not in path
