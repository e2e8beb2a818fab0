"""The whole pipeline as one pure function: spec file in, ``{path: text}`` out.

load -> lower (IR) -> models (datamodel-code-generator) -> lower again with the models' class
names -> render (Jinja) -> format (black).
Writing is the CLI's job (see ``write``); ``generate()`` touches no file but the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import dataclasses
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .config import Config
from .errors import ConfigError, SpecProblem
from .format import format_files
from .load import load_spec
from .ir import Api
from .lower import HTTP_METHODS, lower
from .models import build_models
from .refs import canonical_refs
from .select import select_operations
from .render import render
from .streaming import unmatched_settings
from .validate import validate


STAGES = ("load", "validate", "lower", "models", "render", "format")


@dataclass(frozen=True)
class Stage:
    """Reported to ``on_stage`` as each stage starts (for progress displays and summaries)."""

    name: str  # one of STAGES
    operations: int = 0  # operations in the spec (after selection); 0 before it is loaded
    api: Api | None = None  # the IR, once lowered (the final one from "render" on)

    @property
    def number(self) -> int:
        return STAGES.index(self.name) + 1


def generate(
    spec_path: Path, config: Config, *, strict: bool = False, on_warning: Callable[[SpecProblem], object] | None = None,
    on_stage: Callable[[Stage], object] | None = None,
) -> dict[PurePosixPath, str]:
    """``strict`` makes warnings errors; ``on_warning`` receives each warning (default: dropped);
    ``on_stage`` hears of each stage as it starts."""
    config.validate()
    stage = on_stage or (lambda _: None)
    stage(Stage("load"))
    spec = load_spec(spec_path, label=config.spec)
    stage(Stage("validate", count_operations(spec.document) if isinstance(spec.document.get("paths") or {}, Mapping) else 0))
    # Every problem at once, before anything else reads the document: the later stages may
    # then trust its shapes (mappings where they call .get, string $refs, bounded nesting...).
    warnings = validate(spec, strict=strict)
    document = canonical_refs(spec.document)[0]  # its null-$ref warnings are among validate's
    if config.operations:
        document = select_operations(document, config.operations, _streaming_refs(config))
    spec = dataclasses.replace(spec, document=document)
    for missing in unmatched_settings(spec.document, config.streaming):
        raise ConfigError(f"[tool.sdkforge.streaming] names {missing!r}, which {config.spec} does not have "
                          "(write 'METHOD /path' exactly as in the spec's paths, or an operationId)")
    operations = count_operations(spec.document)
    for warning in warnings:
        (on_warning or (lambda _: None))(warning)
    # Lower once to learn which inline schemas need a class, let datamodel-code-generator make
    # the models, then lower again with the class names it reports for every schema.
    stage(Stage("lower", operations))
    provisional = lower(spec, config)
    stage(Stage("models", operations, provisional))
    models = build_models(spec.document, tuple(m for m in provisional.models if m.hoisted_schema), config.spec)
    api = lower(spec, config, models.classes, models.modules)
    stage(Stage("render", operations, api))
    files = render(api, models.sources, templates=config.templates_path)
    stage(Stage("format", operations, api))
    return format_files(files)


def count_operations(document: Mapping[str, Any]) -> int:
    paths = document.get("paths") or {}
    return sum(1 for item in paths.values() if isinstance(item, Mapping) for method in HTTP_METHODS if isinstance(item.get(method), Mapping))


def _streaming_refs(config: Config) -> tuple[str, ...]:
    # Schemas named only in [tool.sdkforge.streaming] must survive the selection too.
    refs = (str(s.event_schema) for s in config.streaming if s.event_schema)
    return tuple(ref if ref.startswith("#") else f"#/components/schemas/{ref}" for ref in refs)
