"""The whole pipeline as one pure function: spec file in, ``{path: text}`` out.

load -> validate -> lower (IR) -> models (datamodel-code-generator) -> lower again with the
models' class names -> render (Jinja) -> format (black).
Writing is the CLI's job (see ``write``); ``generate()`` touches no file but the spec (and the
formatting cache). Validation, the models stage and black run in worker processes (see
``workers``), overlapping with the stages here; the result is the same without them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import workers
from .cache import cache_root
from .config import Config
from .errors import ConfigError, SpecProblem
from .format import Formatter, format_files
from .load import LoadedSpec, load_spec
from .ir import MODELS_MODULE, Api
from .lower import HTTP_METHODS, lower
from .models import build_models
from .refs import canonical_refs
from .select import select_operations
from .render import model_files, render
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
    workers.warm_up()  # the workers import their libraries while the spec is read
    stage(Stage("load"))
    spec = load_spec(spec_path, label=config.spec)
    stage(Stage("validate", count_operations(spec.document) if isinstance(spec.document.get("paths") or {}, Mapping) else 0))
    # Every problem at once, in a worker. Meanwhile the stages below start on the document as
    # if it were valid; whatever they raise, the spec's own problems are reported first.
    validated = workers.submit(functools.partial(validate, strict=strict), spec)
    formatter = Formatter()
    try:
        return _generate(spec, config, validated, formatter, stage, on_warning or (lambda _: None))
    except Exception:
        formatter.cancel()
        workers.result(validated)  # raises the spec's errors, if it has any
        raise
    except BaseException:
        formatter.cancel()
        raise


def _generate(
    spec: LoadedSpec, config: Config, validated: Future[tuple[SpecProblem, ...]], formatter: Formatter,
    stage: Callable[[Stage], object], on_warning: Callable[[SpecProblem], object],
) -> dict[PurePosixPath, str]:
    document = canonical_refs(spec.document)[0]  # its null-$ref warnings are among validate's
    if config.operations:
        document = select_operations(document, config.operations, _streaming_refs(config))
    spec = dataclasses.replace(spec, document=document)
    for missing in unmatched_settings(spec.document, config.streaming):
        raise ConfigError(f"[tool.sdkforge.streaming] names {missing!r}, which {config.spec} does not have "
                          "(write 'METHOD /path' exactly as in the spec's paths, or an operationId)")
    operations = count_operations(spec.document)
    # Lower once to learn which inline schemas need a class, let datamodel-code-generator make
    # the models (in a worker), then lower again with the class names it reports for every schema.
    stage(Stage("lower", operations))
    provisional = lower(spec, config, default_module=MODELS_MODULE)  # where the models stage writes them all
    stage(Stage("models", operations, provisional))
    pending = workers.submit(build_models, spec.document, tuple(m for m in provisional.models if m.hoisted_schema),
                             config.spec, {m.pointer: m.class_name for m in provisional.models}, cache_root(),
                             pool=workers.MODELS)  # the cache's place as this process sees it now
    # While it runs: most of the code does not depend on the class names it will choose, so
    # black starts on a rendering with the provisional names (the pieces that come out the same
    # in the final rendering are not formatted again).
    formatter.prefetch(render(provisional, {}, templates=config.templates_path))
    for warning in workers.result(validated):
        on_warning(warning)
    models = workers.result(pending)
    formatter.prefetch(model_files(provisional, models.sources), workers.ANY)  # every worker starts on it at once
    api = lower(spec, config, models.classes, models.modules)
    stage(Stage("render", operations, api))
    files = render(api, models.sources, templates=config.templates_path)
    stage(Stage("format", operations, api))
    return format_files(files, formatter)


def count_operations(document: Mapping[str, Any]) -> int:
    paths = document.get("paths") or {}
    return sum(1 for item in paths.values() if isinstance(item, Mapping) for method in HTTP_METHODS if isinstance(item.get(method), Mapping))


def _streaming_refs(config: Config) -> tuple[str, ...]:
    # Schemas named only in [tool.sdkforge.streaming] must survive the selection too.
    refs = (str(s.event_schema) for s in config.streaming if s.event_schema)
    return tuple(ref if ref.startswith("#") else f"#/components/schemas/{ref}" for ref in refs)
