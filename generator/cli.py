"""The ``sdkforge`` command. Problems become one line each and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import Config, load_config
from .errors import ConfigError, SpecError

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
    return parser


def resolve_config(args: argparse.Namespace) -> Config:
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
    from .pipeline import generate  # noqa: PLC0415 - keep --help fast
    from .write import OutputError, write_tree  # noqa: PLC0415

    started = time.perf_counter()
    config = resolve_config(args)
    try:
        files = generate(config.spec_path, config, strict=args.strict,
                         on_warning=lambda warning: print(warning.format(), file=sys.stderr))
        write_tree(config.out_path, files, force=args.force)
    except OutputError as exc:
        raise ConfigError(str(exc)) from None
    elapsed = time.perf_counter() - started
    print(f"sdkforge: wrote {len(files)} files for package {config.package!r} to {config.out} in {elapsed:.2f}s", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            return cmd_generate(args)
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
