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


@pytest.mark.parametrize("jobs", ["0", "2"])
def test_early_pieces_are_reused_and_changed_ones_formatted_again(jobs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline formats a provisional rendering while the models stage runs; the final one
    differs where a class name changed. Only exact pieces are reused: the output is black's."""
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", "")
    monkeypatch.setenv("SDKFORGE_JOBS", jobs)
    path = PurePosixPath("pkg/resources/things.py")
    provisional = sample_module(60)
    final = provisional.replace("class Model7(", "class Model7Renamed(")
    formatter = format_stage.Formatter()
    formatter.prefetch({path: provisional})
    early = dict(formatter.started)
    assert bool(early) == (jobs != "0")  # without workers nothing is started early
    result = formatter.format_files({path: final})[path]
    assert result == black.format_str(final, mode=format_stage._MODE)
    assert "Model7Renamed(" in result and "class Model7(" not in result
    final_pieces = set(format_stage._pieces(final))
    reused = [piece for piece in final_pieces if piece in early and formatter.started[piece] is early[piece]]
    if jobs != "0":
        assert len(final_pieces) > 2 and len(reused) == len(final_pieces) - 1  # all but the changed piece


def test_a_failed_generation_cancels_what_it_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", "")
    monkeypatch.setenv("SDKFORGE_JOBS", "1")
    formatter = format_stage.Formatter()
    formatter.prefetch({PurePosixPath(f"m{i}.py"): sample_module(40).replace("Model", f"M{i}_") for i in range(20)})
    formatter.cancel()
    assert any(batch.cancelled() for batch, _ in formatter.started.values())  # one worker: most were waiting


REAL_SPECS = Path("/work/shared/specs")


@pytest.mark.parametrize("spec", [
    "spec/openapi.yaml",
    "hf-tgi/openapi.json",
    pytest.param("ory-kratos/openapi.json", marks=pytest.mark.slow),
])
def test_generated_modules_format_piece_by_piece_exactly_like_whole_files(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import pipeline
    from generator.config import Config

    path = Path(__file__).resolve().parent.parent / spec if spec.startswith("spec/") else REAL_SPECS / spec
    if not path.is_file():
        pytest.skip("no shared specs here")
    monkeypatch.setenv("SDKFORGE_CACHE_DIR", "")
    monkeypatch.setenv("SDKFORGE_JOBS", "0")
    rendered: dict[PurePosixPath, str] = {}
    monkeypatch.setattr(pipeline, "format_files", lambda files, *rest: rendered.update(files) or dict(files))
    pipeline.generate(path, Config(spec=path.name, root=str(path.parent), package="client"))
    modules = {p: text for p, text in rendered.items() if p.suffix == ".py" and "_runtime" not in p.parts}
    assert len(modules) >= 5
    formatted = format_stage.format_files(modules)
    for module, text in modules.items():
        assert formatted[module] == black.format_str(text, mode=format_stage._MODE), module
