"""The format stage gives exactly black's output for the whole file, with or without its cache
and process pool."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import black
import pytest

from generator import format as format_stage


def sample_module(classes: int) -> str:
    parts = ['"""Docs."""\nfrom __future__ import annotations\nimport typing\n\n\n']
    for i in range(classes):
        parts.append(
            f"@typing.final\nclass Model{i}( object ):\n    '''Doc {i}.'''\n    x: int=1\n"
            f"    def method(self,a,b = {{ 'k':[1,2,3] }}):\n        return (a,\n b)\n\n\n"
            f"def helper_{i}(value:int)->int:\n    # comment\n    return value*{i}\n\n\n"
        )
    return "".join(parts)


@pytest.mark.parametrize("classes", [3, 400])
def test_pieces_format_exactly_like_the_whole_file(classes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", str(tmp_path / "cache"))
    source = sample_module(classes)
    whole = black.format_str(source, mode=format_stage._MODE)
    path = PurePosixPath("pkg/types/_models.py")
    cold = format_stage.format_files({path: source})[path]
    warm = format_stage.format_files({path: source})[path]  # from the cache now
    assert cold == whole
    assert warm == whole
    if classes > 100:
        assert len(format_stage._pieces(source)) > 1
        assert any((tmp_path / "cache").rglob("*"))


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", "")
    source = sample_module(2)
    path = PurePosixPath("m.py")
    assert format_stage.format_files({path: source})[path] == black.format_str(source, mode=format_stage._MODE)


def test_runtime_files_are_not_reformatted() -> None:
    path = PurePosixPath("pkg/_runtime/x.py")
    assert format_stage.format_files({path: "x  =  1\n"})[path] == "x  =  1\n"


def test_invalid_python_is_reported_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.errors import SpecError

    monkeypatch.setenv("SDKFORGE_CACHE_DIR", str(tmp_path))
    with pytest.raises(SpecError, match="invalid Python"):
        format_stage.format_files({PurePosixPath("bad.py"): "def (:\n"})
