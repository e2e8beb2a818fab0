"""``sdkforge check``: is the output directory what the spec and templates produce now?

The tree is generated in memory (``pipeline.generate``) and compared with the directory, file by
file, and with its manifest's list of files; nothing is written. Files sdkforge did not write
(anything the manifest does not list, ``__pycache__``, build leftovers) are not its business and
are ignored, as ``generate`` leaves them alone too.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ConfigError
from .write import MANIFEST, OutputError, manifest_text, read_manifest


@dataclass(frozen=True)
class Drift:
    """How the directory differs from a fresh run; empty when it is current."""

    changed: tuple[str, ...] = ()  # generated files whose text differs
    missing: tuple[str, ...] = ()  # files a run would write that are not there
    stale: tuple[str, ...] = ()  # files a previous run wrote that a run would now remove
    manifest: bool = False  # the manifest alone is out of date (or absent)
    diff: str = ""  # a unified diff from the directory (a/) to a fresh run (b/)

    def __bool__(self) -> bool:
        return bool(self.changed or self.missing or self.stale or self.manifest)

    def summary(self) -> str:
        parts = [
            f"{len(self.changed)} changed" if self.changed else "",
            f"{len(self.missing)} missing" if self.missing else "",
            f"{len(self.stale)} to remove" if self.stale else "",
            "manifest out of date" if self.manifest and not (self.changed or self.missing or self.stale) else "",
        ]
        return ", ".join(p for p in parts if p)


def compare(out: Path, files: dict[PurePosixPath, str]) -> Drift:
    """Compare the directory ``out`` with a generated tree (``{relative path: text}``)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is not a directory")
    try:
        owned = read_manifest(out) if out.is_dir() else None
    except OutputError:
        owned = None  # an unreadable manifest: everything below shows as out of date
    changed: list[str] = []
    missing: list[str] = []
    stale: list[str] = []
    chunks: list[str] = []
    for relative, text in sorted(files.items(), key=lambda item: str(item[0])):
        name = str(relative)
        current = _read(out / name)
        if current is None:
            missing.append(name)
            chunks.append(_diff("", text, name, old_exists=False))
        elif current != text:
            changed.append(name)
            chunks.append(_diff(current, text, name))
    generated = {str(p) for p in files}
    for name in sorted((owned or set()) - generated):
        if "__pycache__" in PurePosixPath(name).parts:
            continue
        current = _read(out / name)
        if current is not None:
            stale.append(name)
            chunks.append(_diff(current, "", name, new_exists=False))
    manifest_outdated = False
    if not (changed or missing or stale):
        wanted = manifest_text(files)
        current = _read(out / MANIFEST)
        if current != wanted:
            manifest_outdated = True
            chunks.append(_diff(current or "", wanted, MANIFEST, old_exists=current is not None))
    return Drift(tuple(changed), tuple(missing), tuple(stale), manifest_outdated, "".join(chunks))


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _diff(old: str, new: str, name: str, *, old_exists: bool = True, new_exists: bool = True) -> str:
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{name}" if old_exists else "/dev/null",
            f"b/{name}" if new_exists else "/dev/null",
        )
    )
    # A last line without a newline would run into the next file's header.
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


# -- the command ------------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="exit 1 with a diff when the output is not what the spec and templates produce now",
        description="Generate in memory and compare with the output directory; nothing is written. "
                    "Exit 0 when it is current, 1 (with a unified diff on stdout) when it is not.",
    )
    check.add_argument("--config", type=Path, help="pyproject.toml with [tool.sdkforge] (default: ./pyproject.toml)")
    check.add_argument("--spec", help="OpenAPI file (YAML or JSON)")
    check.add_argument("--out", help="output directory")
    check.add_argument("--package", help="Python package name of the client")
    check.add_argument("--client-name", help="sync client class name")
    check.add_argument("--strict", action="store_true", help="treat warnings about the spec as errors")
    check.add_argument("-v", "--verbose", action="store_true", help="list every file compared")
    check.add_argument("-q", "--quiet", action="store_true", help="no diff, only the exit status and one line")


def cmd_check(args: argparse.Namespace) -> int:
    from .cli import EXIT_OK, resolve_config  # noqa: PLC0415 - the CLI imports this module
    from .pipeline import generate  # noqa: PLC0415 - keep --help fast

    started = time.perf_counter()
    config = resolve_config(args)
    files = generate(config.spec_path, config, strict=args.strict,
                     on_warning=lambda warning: print(warning.format(), file=sys.stderr))
    try:
        drift = compare(config.out_path, files)
    except OutputError as exc:
        raise ConfigError(str(exc)) from None
    elapsed = time.perf_counter() - started
    if args.verbose:
        for name in sorted({str(p) for p in files} | set(drift.stale)):
            mark = "+" if name in drift.missing else "M" if name in drift.changed else "-" if name in drift.stale else " "
            print(f"  {mark} {PurePosixPath(config.out, name)}", file=sys.stderr)
    if not drift:
        print(f"sdkforge: {config.out} is up to date ({len(files)} files, {elapsed:.2f}s)", file=sys.stderr)
        return EXIT_OK
    if not args.quiet:
        sys.stdout.write(drift.diff)
        sys.stdout.flush()
    print(f"sdkforge: {config.out} is out of date ({drift.summary()}): run `sdkforge generate` and commit the result",
          file=sys.stderr)
    return EXIT_OUT_OF_DATE


EXIT_OUT_OF_DATE = 1
