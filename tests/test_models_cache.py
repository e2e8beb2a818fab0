"""The models stage's cache: a spec whose schemas did not change skips datamodel-code-generator,
with exactly the models it made before; anything else makes them again."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from generator import models as models_stage

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {},
    "components": {"schemas": {
        "Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "tag": {"type": "string"}}},
        "Pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}},
    }},
}


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels datamodel-code-generator ran for (it does not run on a cache hit)."""
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", str(tmp_path / "cache"))
    ran: list[str] = []
    real = models_stage._build

    def counting(normalized: Any, renamed: Any, label: str, expected: Any) -> models_stage.ModelsModule:
        ran.append(label)
        return real(normalized, renamed, label, expected)

    monkeypatch.setattr(models_stage, "_build", counting)
    return ran


def test_unchanged_schemas_come_from_the_cache(runs: list[str]) -> None:
    first = models_stage.build_models(DOCUMENT, (), "first")
    second = models_stage.build_models(copy.deepcopy(DOCUMENT), (), "second")
    assert runs == ["first"]
    assert second == first
    assert "class Pet(" in second.sources["_models"]
    assert second.classes["#/components/schemas/Pet"] == "Pet"


def test_a_changed_schema_makes_the_models_again(runs: list[str]) -> None:
    models_stage.build_models(DOCUMENT, (), "first")
    changed = copy.deepcopy(DOCUMENT)
    changed["components"]["schemas"]["Pet"]["properties"]["tag"]["description"] = "A tag."
    result = models_stage.build_models(changed, (), "changed")
    assert runs == ["first", "changed"]
    assert "A tag." in result.sources["_models"]


def test_a_damaged_entry_is_made_again(runs: list[str], tmp_path: Path) -> None:
    first = models_stage.build_models(DOCUMENT, (), "first")
    (entry,) = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and "models-" in str(p)]
    entry.write_text("{not json", encoding="utf-8")
    assert models_stage.build_models(DOCUMENT, (), "again") == first
    assert runs == ["first", "again"]


def test_the_cache_can_be_turned_off(runs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", "")
    models_stage.build_models(DOCUMENT, (), "one")
    models_stage.build_models(DOCUMENT, (), "two")
    assert runs == ["one", "two"]


def test_a_worker_uses_the_cache_its_caller_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's environment is a copy from when it started: the caller passes the cache's place."""
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", str(tmp_path / "from-the-environment"))
    models_stage.build_models(DOCUMENT, (), "x", None, tmp_path / "given")
    models_stage.build_models(DOCUMENT, (), "y", None, None)  # None: no cache at all
    assert len([p for p in (tmp_path / "given").rglob("*") if p.is_file()]) == 1  # x's entry; y wrote none
    assert not (tmp_path / "from-the-environment").exists()
