"""Every operation of every real spec in ../shared/specs becomes a method of a package that
imports and passes mypy. The large specs are marked slow: `make test` (CI) runs them all."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.config import Config
from generator.lower import HTTP_METHODS
from generator.pipeline import generate
from generator.write import write_tree

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(os.environ.get("SDKFORGE_SPECS", ROOT.parent / "shared" / "specs"))
SMALL = ["petstore-3.0", "petstore-3.1", "tictactoe-3.1", "ollama", "hf-tgi"]
LARGE = ["ory-kratos", "qdrant", "together", "mistral", "openai"]
CASES = [pytest.param(name, id=name) for name in SMALL] + [pytest.param(name, id=name, marks=pytest.mark.slow) for name in LARGE]


def spec_file(name: str) -> Path:
    found = sorted((SPECS / name).glob("openapi.*"))
    if not found:
        pytest.skip(f"{SPECS / name} is not here")
    return found[0]


def count_operations(path: Path) -> int:
    import json

    import yaml

    text = path.read_text(encoding="utf-8")
    document = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)
    return sum(1 for item in document["paths"].values() for method in HTTP_METHODS if isinstance(item, dict) and method in item)


def client_methods(client: object) -> list[str]:
    """Every operation method reachable from the client: client.<resource>...<method>."""
    found: list[str] = []

    def walk(resource: object, prefix: str) -> None:
        for name, member in inspect.getmembers(type(resource)):
            if name.startswith("_") or name in ("with_raw_response", "with_streaming_response"):
                continue
            if inspect.isfunction(member):
                found.append(f"{prefix}.{name}")
            elif isinstance(member, (property,)) or type(member).__name__ == "cached_property":
                walk(getattr(resource, name), f"{prefix}.{name}")

    for name, member in inspect.getmembers(type(client)):
        if isinstance(member, property) and not name.startswith("_"):
            walk(getattr(client, name), name)
    return found


@pytest.mark.parametrize("name", CASES)
def test_corpus_spec_generates_imports_and_type_checks(name: str, tmp_path: Path) -> None:
    spec = spec_file(name)
    # "corpus_" keeps clear of packages other tests import (generated/openai_client)
    package = "corpus_" + name.replace("-", "_").replace(".", "")
    config = Config(spec=spec.name, package=package, client_class="Client", api_key_env="CORPUS_API_KEY")
    write_tree(tmp_path / "out", generate(spec, config))

    sys.path.insert(0, str(tmp_path / "out"))
    try:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            importlib.import_module(info.name)
        needs_key = "api_key" in inspect.signature(module.Client).parameters
        settings = {"api_key": "k"} if needs_key else {}
        client = module.Client(base_url="http://127.0.0.1:9", **settings)
        methods = client_methods(client)
        async_client = module.AsyncClient(base_url="http://127.0.0.1:9", **settings)
        assert len(client_methods(async_client)) == len(methods)
    finally:
        sys.path.remove(str(tmp_path / "out"))
        for loaded in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[loaded]
    assert len(methods) == count_operations(spec), "every operation becomes a method, none skipped"

    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-version", "3.10", "--cache-dir", str(ROOT / ".mypy_cache"), package],
        cwd=tmp_path / "out", capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:]
