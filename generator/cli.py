"""The ``sdkforge`` command. Problems become one line each and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from . import workers
from .errors import ConfigError, SpecError

# The subcommands' modules are imported when needed: ``main`` starts the worker processes
# before anything heavy is imported (they import datamodel-code-generator meanwhile).

if TYPE_CHECKING:
    from .config import Config
    from .ir import Api
    from .pipeline import Stage

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdkforge", description="Generate a typed Python client from an OpenAPI description.")
    parser.add_argument("--version", action="version", version=f"sdkforge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="generate the client package from the spec")
    gen.add_argument("--config", type=Path, help="pyproject.toml with [tool.sdkforge] (default: ./pyproject.toml)")
    gen.add_argument("--spec", help="OpenAPI file (YAML or JSON)")
    gen.add_argument("--out", help="output directory")
    gen.add_argument("--package", help="Python package name of the client")
    gen.add_argument("--client-name", help="sync client class name (the async one gets an 'Async' prefix)")
    gen.add_argument("--force", action="store_true", help="take over an --out that sdkforge did not write")
    gen.add_argument("--strict", action="store_true", help="treat warnings about the spec as errors")
    gen.add_argument("-v", "--verbose", action="store_true", help="list every file generated (+ new, M changed, - removed)")
    from . import check as check_command, diff as diff_command, init as init_command  # noqa: PLC0415

    check_command.add_parser(commands)
    diff_command.add_parser(commands)
    init_command.add_parser(commands)
    return parser


def resolve_config(args: argparse.Namespace) -> Config:
    from .config import load_config  # noqa: PLC0415

    pyproject = args.config if args.config else Path("pyproject.toml")
    if args.config and not args.config.is_file():
        raise ConfigError(f"{args.config}: no such configuration file")
    config = load_config(pyproject)
    root = Path(config.root)

    def relative_to_root(path: str | None) -> str | None:
        # Flags are relative to where the command runs; the config keeps paths relative to its file.
        return None if path is None else Path(os.path.relpath(Path(path).absolute(), root.absolute())).as_posix()

    config = config.replace(
        spec=relative_to_root(args.spec),
        out=relative_to_root(args.out),
        package=args.package,
        client_class=args.client_name,
    )
    config.validate()
    return config


def cmd_generate(args: argparse.Namespace) -> int:
    from .check import compare  # noqa: PLC0415 - keep --help fast
    from .pipeline import generate  # noqa: PLC0415
    from .write import OutputError, write_tree  # noqa: PLC0415

    started = time.perf_counter()
    config = resolve_config(args)
    progress = Progress(sys.stderr)
    try:
        files = generate(config.spec_path, config, strict=args.strict, on_stage=progress,
                         on_warning=lambda warning: progress.print(warning.format()))
        progress.done()
        drift = compare(config.out_path, files) if args.verbose else None
        write_tree(config.out_path, files, force=args.force)
    except OutputError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        progress.done()
    elapsed = time.perf_counter() - started
    if drift is not None:
        for name in sorted({str(p) for p in files} | set(drift.stale)):
            mark = "+" if name in drift.missing else "M" if name in drift.changed else "-" if name in drift.stale else " "
            print(f"  {mark} {Path(config.out, name).as_posix()}", file=sys.stderr)
    print(f"sdkforge: {progress.counts()}{len(files)} files for package {config.package!r} written to {config.out} "
          f"in {elapsed:.2f}s", file=sys.stderr)
    return EXIT_OK


class Progress:
    """Receives ``pipeline.Stage``s: remembers the IR for the summary and, on a terminal, shows
    which stage a large spec is in (one line, rewritten in place)."""

    FROM_OPERATIONS = 200

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.api: Api | None = None
        self.showing = False
        self.started = time.perf_counter()
        self.enabled = stream.isatty() and os.environ.get("TERM") != "dumb"

    def __call__(self, stage: Stage) -> None:
        from .pipeline import STAGES  # noqa: PLC0415

        self.api = stage.api or self.api
        if self.enabled and stage.operations >= self.FROM_OPERATIONS:
            elapsed = time.perf_counter() - self.started
            self.stream.write(f"\r\x1b[Ksdkforge: [{stage.number}/{len(STAGES)}] {stage.name}: "
                              f"{stage.operations} operations ({elapsed:.0f}s)")
            self.stream.flush()
            self.showing = True

    def print(self, line: str) -> None:
        self.done()
        print(line, file=self.stream)

    def done(self) -> None:
        if self.showing:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.showing = False

    def counts(self) -> str:
        if self.api is None:
            return ""
        operations, models = self.api.operation_count, len(self.api.models)
        return (f"{operations} operation{'s' if operations != 1 else ''}, "
                f"{models} model{'s' if models != 1 else ''}, ")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] in (["generate"], ["check"]):
        workers.warm_up()  # first: the workers import their libraries while this process imports the rest
    args = _parser().parse_args(arguments)
    try:
        return _run(args)
    finally:
        # After an error a worker may still be busy on the models of a spec that turned out
        # invalid: nobody waits for that, and exit would.
        workers.settle(timeout=1.0)


def _run(args: argparse.Namespace) -> int:
    from . import check as check_command, diff as diff_command, init as init_command  # noqa: PLC0415

    try:
        if args.command == "generate":
            return cmd_generate(args)
        if args.command == "init":
            return init_command.cmd_init(args)
        if args.command == "check":
            return check_command.cmd_check(args)
        if args.command == "diff":
            return diff_command.cmd_diff(args)
    except SpecError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        errors = len(exc.errors)
        warnings = len(exc.problems) - errors
        counts = f"{errors} error{'s' if errors != 1 else ''}" + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")
        print(f"sdkforge: {counts}; nothing was written", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"sdkforge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sdkforge: interrupted; the previous output is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in sdkforge: one line, not a traceback (SDKFORGE_TRACEBACK=1 shows it)
        if os.environ.get("SDKFORGE_TRACEBACK"):
            raise
        print(f"sdkforge: internal error ({type(exc).__name__}: {str(exc)[:300]}); nothing was written "
              "(please report it with the spec; SDKFORGE_TRACEBACK=1 shows where)", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_USAGE
