"""Generation settings: defaults, ``[tool.sdkforge]`` in pyproject.toml, then command-line flags."""

from __future__ import annotations

import dataclasses
import keyword
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .streaming import StreamingSetting, parse_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class Config:
    """Everything ``generate()`` needs besides the spec. Paths are relative to ``root``."""

    spec: str = "spec/openapi.yaml"
    out: str = "generated"
    package: str = "client"
    client_class: str = "Client"
    async_client_class: str = ""  # default: "Async" + client_class
    api_key_env: str = ""  # default: derived from the package name
    base_url_env: str = ""
    root: str = "."
    # [tool.sdkforge.streaming."POST /completions"] tables: streaming the spec describes only in
    # prose (keys and defaults: see generator/streaming.py).
    streaming: tuple[StreamingSetting, ...] = ()
    # Generate only these operations and the schemas they reach: "POST /completions",
    # "/completions" (every method), "tag:Completions" or an operationId. Empty: everything.
    operations: tuple[str, ...] = ()
    # A directory of template overrides: a file there replaces the built-in template of the same
    # relative name (e.g. "resources/resource.py.j2", "README.md.j2"). Empty: none.
    templates: str = ""
    # The package version (``__version__`` and the emitted pyproject.toml); default: info.version.
    version: str = ""

    @property
    def async_client_name(self) -> str:
        return self.async_client_class or f"Async{self.client_class}"

    @property
    def spec_path(self) -> Path:
        return Path(self.root) / self.spec

    @property
    def out_path(self) -> Path:
        return Path(self.root) / self.out

    @property
    def templates_path(self) -> Path | None:
        return Path(self.root) / self.templates if self.templates else None

    @property
    def spec_label(self) -> str:
        """The spec as generated file headers name it: relative to the directory that holds
        ``out``, so the same files give the same bytes wherever the command runs."""
        spec = os.path.abspath(self.spec_path)
        try:
            relative = os.path.relpath(spec, os.path.dirname(os.path.abspath(self.out_path)))
        except ValueError:  # another drive (Windows)
            relative = os.path.basename(spec)
        return Path(relative).as_posix()

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def validate(self) -> None:
        if not _is_identifier(self.package) or not self.package.islower():
            raise ConfigError(f"package {self.package!r} is not a lower-case Python identifier")
        for label, value in (("client_class", self.client_class), ("async_client_class", self.async_client_name)):
            if not _is_identifier(value):
                raise ConfigError(f"{label} {value!r} is not a Python identifier")
        for label, value in (("api_key_env", self.api_key_env), ("base_url_env", self.base_url_env)):
            if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
                raise ConfigError(f"{label} {value!r} is not an environment variable name")


_KEYS = {f.name.replace("_", "-"): f.name for f in dataclasses.fields(Config) if f.name != "root"}


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and name.isascii() and not keyword.iskeyword(name)


def load_config(pyproject: Path | None) -> Config:
    """Read ``[tool.sdkforge]``; keys may use dashes or underscores. Unknown keys are errors."""
    if pyproject is None or not pyproject.is_file():
        return Config()
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    table = document.get("tool", {}).get("sdkforge", {})
    values: dict[str, Any] = {"root": str(pyproject.parent)}
    for key, value in table.items():
        name = _KEYS.get(key.replace("_", "-"))
        if name is None:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{pyproject}: unknown key {key!r} in [tool.sdkforge] (known keys: {known})")
        if name == "streaming":
            values[name] = parse_settings(value, str(pyproject))
            continue
        if name == "operations":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{pyproject}: [tool.sdkforge] {key} must be a list of strings")
            values[name] = tuple(value)
            continue
        if not isinstance(value, str):
            raise ConfigError(f"{pyproject}: [tool.sdkforge] {key} must be a string")
        values[name] = value
    return Config(**values)
