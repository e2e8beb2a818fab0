"""The whole pipeline as one pure function: spec file in, ``{path: text}`` out.

load -> lower (IR) -> models (datamodel-code-generator) + render (Jinja) -> format (black).
Writing is the CLI's job (see ``write``); ``generate()`` touches no file but the spec.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from .config import Config
from .format import format_files
from .load import load_spec
from .lower import lower
from .models import render_models
from .render import render


def generate(spec_path: Path, config: Config) -> dict[PurePosixPath, str]:
    config.validate()
    spec = load_spec(spec_path, label=config.spec)
    api = lower(spec, config)
    models_source = render_models(spec.document, api, config.spec)
    return format_files(render(api, models_source))
