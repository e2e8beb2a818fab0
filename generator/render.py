"""Stage 4: lay out the package from the IR with Jinja2, and copy the hand-written runtime in.

Templates see IR objects only. Output paths are ``PurePosixPath``s relative to the output
directory; the text is not formatted yet (see ``format``).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath

import jinja2

from .ir import Api

RUNTIME_DIR = "_runtime"  # where the hand-written runtime is copied inside the package
# What the models stage names as the models' base class; replaced by a relative import here.
MODEL_BASE_PLACEHOLDER = "sdkforge_runtime_placeholder"
_MODEL_BASE_IMPORT = f"from {MODEL_BASE_PLACEHOLDER} import APIModel\n"


def templates_root() -> Traversable:
    """The template tree shipped inside the installed ``generator`` package."""
    return importlib.resources.files("generator.templates")


def _environment() -> jinja2.Environment:
    root = templates_root() / "package"
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (root / name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(api: Api, models_source: str) -> dict[PurePosixPath, str]:
    env = _environment()
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
    files[package / "types" / "_models.py"] = header + _models_module(models_source)
    files[package / "py.typed"] = header
    for name, text in _runtime_files():
        files[package / RUNTIME_DIR / name] = header + text
    return files


def _models_module(source: str) -> str:
    # The base class import is the one line that depends on where the runtime lives.
    return source.replace(_MODEL_BASE_IMPORT, "from .._runtime._models import APIModel\n", 1)


def _runtime_files() -> Iterator[tuple[str, str]]:
    runtime = templates_root() / "runtime"
    for entry in sorted(runtime.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            yield entry.name, entry.read_text(encoding="utf-8")
