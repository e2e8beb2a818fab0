"""Bad input never becomes bad code: the corpus of broken and hostile specs in tests/bad_specs/.

Each case is a directory with one spec (``openapi.yaml`` or ``openapi.json``) and
``expected.txt``: a ``# why`` comment, ``exit N``, then the exact problem lines sdkforge
prints (``file:line:col: pointer: [warning: ]message (hint)``). A case either fails with
exit status 2 and writes nothing, or generates code that compiles (its warnings printed);
``--strict`` turns those warnings into errors.

Every case runs through ``generator.cli.main`` in-process; a good share of them also runs
the real command in a subprocess. ``SDKFORGE_UPDATE_BAD_SPECS=1`` rewrites the expected
lines from what sdkforge prints now (read the diff before committing it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import main
from generator.config import Config
from generator.errors import SpecError
from generator.load import load_spec
from generator.pipeline import generate
from generator.validate import validate

CORPUS = Path(__file__).parent / "bad_specs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.txt").is_file())
UPDATE = bool(os.environ.get("SDKFORGE_UPDATE_BAD_SPECS"))
LINE = re.compile(r"^openapi\.(?:yaml|json):\d+:\d+: #\S*: (?:warning: )?\S.*$")
REAL_SPECS = Path("/work/shared/specs")

# Run as a real subprocess too: parse errors, version checks, every kind of $ref problem,
# several problems at once, a hostile document, and cases that generate with warnings.
SUBPROCESS_CASES = [
    "not_yaml", "not_json", "swagger_2", "unsupported_version", "ref_missing", "ref_external_unreadable",
    "ref_to_itself", "duplicate_operation_id", "many_problems", "billion_laughs", "python_yaml_tag",
    "tabs_in_yaml", "not_utf8", "unknown_format", "nullable_in_31", "byte_order_mark",
]


def spec_file(case: str) -> Path:
    return next((CORPUS / case).glob("openapi.*"))


def expected(case: str) -> tuple[str, int, list[str]]:
    comment, status, *lines = (CORPUS / case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert comment.startswith("# ") and status.startswith("exit "), f"{case}/expected.txt: '# why' and 'exit N' first"
    return comment, int(status.split()[1]), lines


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("sdkforge: ")]


def run_in_process(case: str, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *flags: str) -> tuple[int, str]:
    monkeypatch.chdir(CORPUS / case)
    capsys.readouterr()
    status = main(["generate", "--spec", spec_file(case).name, "--out", str(out), "--package", "p", *flags])
    return status, capsys.readouterr().err


def run_subprocess(case: str, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", "generate", "--spec", spec_file(case).name, "--out", str(out), "--package", "p", *flags],
        cwd=CORPUS / case, capture_output=True, text=True, timeout=120,
    )


def assert_nothing_written(out: Path) -> None:
    assert not out.exists(), "a failed run wrote output"
    assert not list(out.parent.glob(f".{out.name}*")), "a failed run left a staging directory"


def assert_compiles(out: Path) -> None:
    sources = sorted(out.rglob("*.py"))
    assert sources, "no Python files generated"
    for source in sources:
        compile(source.read_text(encoding="utf-8"), str(source), "exec")


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30
    statuses = [expected(case)[1] for case in CASES]
    assert statuses.count(2) >= 25 and statuses.count(0) >= 5  # both outcomes are exercised


@pytest.mark.parametrize("case", CASES)
def test_case(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    comment, want_status, want_lines = expected(case)
    out = tmp_path / "out"
    status, stderr = run_in_process(case, out, capsys, monkeypatch)
    got = problem_lines(stderr)
    if UPDATE:
        (CORPUS / case / "expected.txt").write_text("\n".join([comment, f"exit {status}", *got]) + "\n", encoding="utf-8")
        return
    assert "Traceback" not in stderr
    assert (status, got) == (want_status, want_lines), stderr
    for line in got:
        assert LINE.match(line), f"not one 'file:line:col: pointer: message' line: {line!r}"
    warnings = [line for line in got if ": warning: " in line]
    if status == 2:
        assert_nothing_written(out)
        assert any(": warning: " not in line for line in got), "failed without an error line"
        summary = stderr.splitlines()[-1]
        errors = len(got) - len(warnings)
        assert summary.startswith(f"sdkforge: {errors} error{'s' if errors > 1 else ''}") and summary.endswith("nothing was written")
        return
    assert got == warnings
    assert_compiles(out)
    if warnings:  # --strict: the same lines, as errors, and nothing written
        strict_out = tmp_path / "strict"
        status, stderr = run_in_process(case, strict_out, capsys, monkeypatch, "--strict")
        assert status == 2
        assert problem_lines(stderr) == [line.replace(": warning: ", ": ", 1) for line in warnings]
        assert_nothing_written(strict_out)


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_case_through_the_command(case: str, tmp_path: Path) -> None:
    _, want_status, want_lines = expected(case)
    out = tmp_path / "out"
    result = run_subprocess(case, out)
    assert "Traceback" not in result.stderr
    assert (result.returncode, problem_lines(result.stderr)) == (want_status, want_lines), result.stderr
    if want_status == 2:
        assert_nothing_written(out)
    else:
        assert_compiles(out)
        assert json.loads((out / ".sdkforge-manifest.json").read_text())["generator"] == "sdkforge"


def test_failed_run_leaves_previous_output_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_subprocess("byte_order_mark", out).returncode == 0
    before = _tree(out)
    result = run_subprocess("many_problems", out)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert _tree(out) == before


def test_yaml_tags_are_never_constructed(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    owned = Path("/tmp/sdkforge-owned")  # what the spec's !!python/object/apply would create
    owned.unlink(missing_ok=True)
    status, _ = run_in_process("python_yaml_tag", tmp_path / "out", capsys, monkeypatch)
    assert status == 2 and not owned.exists()


def test_all_problems_in_one_run() -> None:
    with pytest.raises(SpecError) as caught:
        validate(load_spec(spec_file("many_problems"), label="openapi.yaml"))
    messages = [p.message for p in caught.value.errors]
    assert len(messages) == 6
    for fragment in ("placeholder {petId}", "points nowhere", "no responses", "duplicate operationId", "unknown type", "enum is empty"):
        assert any(fragment in m for m in messages), fragment
    lines = [p.line or 0 for p in caught.value.problems]
    assert lines == sorted(lines)  # in file order


def test_line_numbers_point_at_the_problem() -> None:
    """The reported line holds the key the pointer names (YAML and JSON)."""
    for case in CASES:
        _, _, lines = expected(case)
        text = spec_file(case).read_bytes().decode("utf-8", "replace").lstrip("\ufeff").splitlines()
        for line in lines:
            match = re.match(r"^[^:]+:(\d+):(\d+): (#\S*):", line)
            assert match, line
            number, column, pointer = int(match[1]), int(match[2]), match[3]
            tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer[2:].split("/")] if pointer != "#" else []
            if not tokens or tokens[-1].isdigit() or pointer.endswith("/$ref") and "nested" in case:
                continue
            shown = text[number - 1][column - 1:]
            assert shown.lstrip('"').startswith(tokens[-1]) or tokens[-1] in text[number - 1], (case, line, text[number - 1])


@pytest.mark.parametrize(
    "name", [pytest.param(p.name, marks=pytest.mark.slow if p.name in ("openai", "mistral") else ()) for p in sorted(REAL_SPECS.iterdir()) if p.is_dir()]
    if REAL_SPECS.is_dir() else [],
)
def test_real_specs_validate_without_errors(name: str) -> None:
    """The public specs in /work/shared/specs pass validation (warnings are fine)."""
    path = next((REAL_SPECS / name).glob("openapi.*"))
    warnings = validate(load_spec(path))
    assert all(w.is_warning for w in warnings)
    assert len(warnings) < 50  # repeated warnings are grouped, not printed by the hundred


def test_hf_tgi_numeric_exclusive_minimum_is_a_warning() -> None:
    path = REAL_SPECS / "hf-tgi" / "openapi.json"
    if not path.is_file():
        pytest.skip("no shared specs here")
    warnings = validate(load_spec(path))
    assert any("numeric exclusiveMinimum" in w.message for w in warnings)
    with pytest.raises(SpecError):
        validate(load_spec(path), strict=True)


# -- structural fuzzing: a valid spec with one part replaced by junk ---------------------------

_BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Pets", "version": "1.0.0"},
    "servers": [{"url": "https://{host}/v1", "variables": {"host": {"default": "example.com"}}}],
    "paths": {
        "/pets/{petId}": {
            "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "operationId": "getPet",
                "tags": ["pets"],
                "parameters": [{"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                               {"$ref": "#/components/parameters/Trace"}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                              "default": {"$ref": "#/components/responses/Error"}},
            },
            "post": {
                "operationId": "updatePet",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                "responses": {"204": {"description": "done"}},
            },
        },
    },
    "components": {
        "schemas": {
            "Pet": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 10},
                "kind": {"type": "string", "enum": ["cat", "dog"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "owner": {"anyOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]},
            }},
            "Owner": {"type": "object", "properties": {"id": {"type": "integer", "format": "int64"}}},
        },
        "parameters": {"Trace": {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}},
        "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {"type": "object"}}}}},
        "securitySchemes": {"key": {"type": "http", "scheme": "bearer"}},
    },
}

_JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 700), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.just([]), st.just({}), st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.none(), st.text(max_size=4), st.integers()), max_size=3),
    st.just({"$ref": "#/components/schemas/Nope"}), st.just({"$ref": 5}), st.just({"type": ["string", 3]}),
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _places(value, (*path, index))
    return found


_PLACES = _places(_BASE)


def _mutated(place: tuple[Any, ...], junk: Any) -> dict[str, Any]:
    document = json.loads(json.dumps(_BASE))
    node = document
    for key in place[:-1]:
        node = node[key]
    node[place[-1]] = junk
    return document


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("SDKFORGE_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(_PLACES), junk=_JUNK)
def test_junk_anywhere_is_an_error_or_correct_code(place: tuple[Any, ...], junk: Any, tmp_path: Path) -> None:
    """Whatever part of a valid spec is replaced by junk, sdkforge reports problems
    (``SpecError``, one line each) or generates code that compiles: never another exception."""
    spec = tmp_path / f"{hashlib.sha256(repr((place, junk)).encode()).hexdigest()[:12]}.json"
    spec.write_text(json.dumps(_mutated(place, junk)), encoding="utf-8")
    try:
        files = generate(spec, Config(spec=spec.name, root=str(tmp_path), package="p"))
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert "\n" not in problem.format() and problem.pointer.startswith("#")
        return
    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_documented_messages_are_real() -> None:
    """Every problem line docs/errors.md shows is what the corpus case prints today."""
    docs = (Path(__file__).parent.parent / "docs" / "errors.md").read_text(encoding="utf-8")
    shown = [line for line in docs.splitlines() if LINE.match(line)]
    assert len(shown) >= 7
    printed = {line for case in CASES for line in expected(case)[2]}
    assert [line for line in shown if line not in printed] == []
