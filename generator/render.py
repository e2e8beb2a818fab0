"""Stage 4: lay out the package from the IR with Jinja2, and copy the hand-written runtime in.

Templates see IR objects only. Output paths are ``PurePosixPath``s relative to the output
directory; the text is not formatted yet (see ``format``).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterator, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

import jinja2

from .docs import build_docs
from .errors import ConfigError
from .ir import Api

RUNTIME_DIR = "_runtime"  # where the hand-written runtime is copied inside the package
# What the models stage names as the models' base class; replaced by a relative import here.
MODEL_BASE_PLACEHOLDER = "sdkforge_runtime_placeholder"
_MODEL_BASE_IMPORT = f"from {MODEL_BASE_PLACEHOLDER} import APIModel\n"


def templates_root() -> Traversable:
    """The template tree shipped inside the installed ``generator`` package."""
    return importlib.resources.files("generator.templates")


def builtin_templates() -> tuple[str, ...]:
    """Relative names of the package templates, e.g. ``resources/resource.py.j2``."""
    found: list[str] = []

    def walk(node: Traversable, prefix: str) -> None:
        for entry in node.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".j2"):
                found.append(prefix + entry.name)

    walk(templates_root() / "package", "")
    return tuple(sorted(found))


def _builtin_loader() -> jinja2.BaseLoader:
    root = templates_root() / "package"
    known = set(builtin_templates())
    return jinja2.FunctionLoader(lambda name: (root / name).read_text(encoding="utf-8") if name in known else None)


def _loader(overrides: Path | None) -> jinja2.BaseLoader:
    """Ours, or the user's templates first: a file in ``overrides`` replaces the built-in template
    of the same relative name; ``sdkforge/<name>`` always names the built-in one (to extend it)."""
    builtin = _builtin_loader()
    if overrides is None:
        return builtin
    if not overrides.is_dir():
        raise ConfigError(f"templates: {overrides} is not a directory")
    known = builtin_templates()
    for path in sorted(overrides.rglob("*.j2")):
        name = path.relative_to(overrides).as_posix()
        if name not in known and not name.startswith("sdkforge/"):
            raise ConfigError(f"templates: {path} replaces no sdkforge template (the names are: {', '.join(known)})")
    return jinja2.ChoiceLoader(
        [jinja2.PrefixLoader({"sdkforge": builtin}), jinja2.FileSystemLoader(str(overrides)), builtin]
    )


@functools.lru_cache(maxsize=4)  # templates compile once per process (render runs twice per generation)
def _environment(overrides: Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=_loader(overrides),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(api: Api, model_sources: Mapping[str, str], *, templates: Path | None = None) -> dict[PurePosixPath, str]:
    """``templates``: a directory of template overrides (the ``templates`` configuration key)."""
    env = _environment(templates)
    package = PurePosixPath(api.package)
    header = f"# {api.default_header}\n"
    files: dict[PurePosixPath, str] = {}

    def emit(template: str, target: PurePosixPath, **context: object) -> None:
        files[target] = env.get_template(template).render(api=api, header=header, **context)

    emit("__init__.py.j2", package / "__init__.py")
    emit("_client.py.j2", package / "_client.py")
    emit("_version.py.j2", package / "_version.py")
    emit("resources/__init__.py.j2", package / "resources" / "__init__.py")
    for resource in api.resources:
        emit("resources/resource.py.j2", package / "resources" / f"{resource.module}.py", resource=resource)
    emit("types/__init__.py.j2", package / "types" / "__init__.py")
    files.update(model_files(api, model_sources))
    files[package / "py.typed"] = header
    for name, text in _runtime_files():
        files[package / RUNTIME_DIR / name] = header + text
    docs = build_docs(api, files)  # reads the model modules above for the models' fields
    if docs is not None:  # beside the package: its docs, and what makes the folder pip-installable
        emit("README.md.j2", PurePosixPath("README.md"), docs=docs)
        emit("api.md.j2", PurePosixPath("api.md"), docs=docs)
        emit("pyproject.toml.j2", PurePosixPath("pyproject.toml"), docs=docs)
    return files


def model_files(api: Api, model_sources: Mapping[str, str]) -> dict[PurePosixPath, str]:
    """The modules of models under types/ (part of ``render``'s result)."""
    header = f"# {api.default_header}\n"
    return {PurePosixPath(api.package) / "types" / f"{module}.py": header + _models_module(source)
            for module, source in model_sources.items()}


def _models_module(source: str) -> str:
    # The base class import is the one line that depends on where the runtime lives.
    return source.replace(_MODEL_BASE_IMPORT, "from .._runtime._models import APIModel\n", 1)


def _runtime_files() -> Iterator[tuple[str, str]]:
    runtime = templates_root() / "runtime"
    for entry in sorted(runtime.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            yield entry.name, entry.read_text(encoding="utf-8")
