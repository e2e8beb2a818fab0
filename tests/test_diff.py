"""`sdkforge diff OLD NEW`: what a spec change means for users of the generated client.

Each case under tests/diff_specs/ has an old.yaml, a new.yaml and the expected report
(expected.md); SDKFORGE_UPDATE_GOLDEN=1 rewrites the reports (read the diff before committing).
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from generator.cli import main
from generator.config import Config
from generator.diff import Bump, Direction, Impact, Report, covers, diff_specs, type_change
from generator.ir import TypeKind, TypeRef, union

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "diff_specs"
UPDATE = os.environ.get("SDKFORGE_UPDATE_GOLDEN") == "1"
OPENAI = ROOT.parent / "shared" / "specs" / "openai" / "openapi.yaml"

STR, INT, FLOAT, NONE = (TypeRef(k) for k in (TypeKind.STR, TypeKind.INT, TypeKind.FLOAT, TypeKind.NONE))


def literal(*values: str) -> TypeRef:
    return TypeRef(TypeKind.LITERAL, literals=values)


def sdkforge(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = main(list(argv))
    finally:
        sys.stdout, sys.stderr = saved
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if (p / "old.yaml").is_file()))
def test_report_of_each_spec_pair(case: str) -> None:
    report = diff_specs(CASES / case / "old.yaml", CASES / case / "new.yaml", Config())
    expected = CASES / case / "expected.md"
    if UPDATE:
        expected.write_text(report.markdown(), encoding="utf-8")
    assert report.markdown() == expected.read_text(encoding="utf-8")


def test_breaking_pair_is_classified_change_by_change() -> None:
    report = diff_specs(CASES / "breaking" / "old.yaml", CASES / "breaking" / "new.yaml", Config())
    breaking = {c.line for c in report.breaking}
    compatible = {c.line for c in report.compatible}
    assert "`client.pets.delete()` (`DELETE /pets/{pet_id}`): removed" in breaking
    assert "`client.pets.list()` (`GET /pets`): parameter `limit` is now required" in breaking
    assert "`client.pets.create()` (`POST /pets`): required parameter `owner: str` added" in breaking
    assert "`client.pets.create()` (`POST /pets`): parameter `kind`: enum values removed: `'dog'`" in breaking
    assert "`client.pets.chat()` (`POST /pets/{pet_id}/chat`): streaming removed (`stream=True`)" in breaking
    assert "model `Pet`: field `tag` removed" in breaking
    assert "model `Pet`: field `name` is now optional (may be missing: `None`)" in breaking
    # New values of a response enum, new response fields and new methods are compatible.
    assert "model `Pet`: field `status`: enum values added: `'pending'`" in compatible
    assert "model `Pet`: optional field `age: int` added" in compatible
    assert "`client.owners.list()` (`GET /owners`): added" in compatible
    assert "`client.pets.list()` (`GET /pets`): optional parameter `cursor: str` added" in compatible
    assert report.bump is Bump.MAJOR and report.next_version == "2.0.0"


def test_compatible_pair_is_a_minor_release() -> None:
    report = diff_specs(CASES / "compatible" / "old.yaml", CASES / "compatible" / "new.yaml", Config())
    assert report.breaking == ()
    lines = {c.line for c in report.compatible}
    assert "`client.pets.create()` (`POST /pets`): streaming added (`stream=True`)" in lines
    assert "`client.pets.list()` (`GET /pets`): parameter `limit`: accepts more, `int` → `int | str`" in lines
    assert "model `Pet`: field `tag` is now required" in lines  # a response promises more
    assert report.bump is Bump.MINOR and report.next_version == "1.5.0"


def test_same_spec_has_no_changes() -> None:
    spec = CASES / "breaking" / "old.yaml"
    report = diff_specs(spec, spec, Config())
    assert report.changes == () and report.bump is Bump.NONE and report.next_version == ""
    assert "No changes: the generated client stays the same." in report.markdown()


def test_configuration_selects_operations_and_names_the_version() -> None:
    config = Config(operations=("GET /pets",), version="0.9.1")
    report = diff_specs(CASES / "breaking" / "old.yaml", CASES / "breaking" / "new.yaml", config)
    subjects = {c.subject.split(" ")[0] for c in report.changes}
    assert subjects == {"`client.pets.list()`", "model"}  # only what the selected method reaches
    assert report.old_version == "0.9.1" and report.next_version == "0.10.0"  # breaking before 1.0: minor


def test_cli_exit_status_and_formats(tmp_path: Path) -> None:
    old, new = CASES / "breaking" / "old.yaml", CASES / "breaking" / "new.yaml"
    config = tmp_path / "pyproject.toml"
    config.write_text("[project]\nname = 'x'\n", encoding="utf-8")
    status, out, _ = sdkforge("diff", str(old), str(new), "--config", str(config))
    assert status == 0 and out.startswith("## Client changes: Pets API 1.4.2 → 1.5.0\n")
    status, out, err = sdkforge("diff", str(old), str(new), "--config", str(config), "--fail-on-breaking")
    assert status == 1 and "7 breaking changes" in err
    status, _, _ = sdkforge("diff", str(CASES / "compatible" / "old.yaml"), str(CASES / "compatible" / "new.yaml"),
                            "--config", str(config), "--fail-on-breaking")
    assert status == 0
    status, out, _ = sdkforge("diff", str(old), str(new), "--config", str(config), "--format", "json")
    data = json.loads(out)
    assert data["bump"] == "major" and len(data["breaking"]) == 7 and data["breaking"][0]["impact"] == "breaking"
    status, _, err = sdkforge("diff", str(old), str(tmp_path / "missing.yaml"), "--config", str(config))
    assert status == 2 and "missing.yaml: no such file" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a: {get: {responses: [}}\n", encoding="utf-8")
    status, _, err = sdkforge("diff", str(old), str(broken), "--config", str(config))
    assert status == 2 and "broken.yaml" in err


# -- the rules ------------------------------------------------------------------------------------


def test_covers_is_set_inclusion_of_values() -> None:
    assert covers(union(STR, NONE), STR) and not covers(STR, union(STR, NONE))
    assert covers(STR, literal("a", "b")) and not covers(literal("a"), STR)
    assert covers(literal("a", "b"), literal("a")) and not covers(literal("a"), literal("a", "b"))
    assert covers(FLOAT, INT) and not covers(INT, FLOAT)
    assert covers(TypeRef(TypeKind.LIST, (union(INT, STR),)), TypeRef(TypeKind.LIST, (INT,)))
    assert covers(TypeRef(TypeKind.ANY), TypeRef(TypeKind.MODEL, model="Pet"))
    assert not covers(TypeRef(TypeKind.MODEL, model="Pet"), TypeRef(TypeKind.MODEL, model="Dog"))


def test_inputs_may_widen_outputs_may_narrow() -> None:
    widened = type_change(STR, union(STR, NONE), Direction.REQUEST, "x")
    assert widened is not None and widened[0] is Impact.COMPATIBLE
    widened = type_change(STR, union(STR, NONE), Direction.RESPONSE, "x")
    assert widened is not None and widened[0] is Impact.BREAKING
    narrowed = type_change(union(STR, NONE), STR, Direction.RESPONSE, "x")
    assert narrowed is not None and narrowed[0] is Impact.COMPATIBLE
    narrowed = type_change(union(STR, NONE), STR, Direction.REQUEST, "x")
    assert narrowed is not None and narrowed[0] is Impact.BREAKING
    both = type_change(STR, union(STR, NONE), Direction.REQUEST | Direction.RESPONSE, "x")
    assert both is not None and both[0] is Impact.BREAKING
    retyped = type_change(STR, INT, Direction.REQUEST, "x")
    assert retyped is not None and retyped[0] is Impact.BREAKING and "`str` → `int`" in retyped[1]
    assert type_change(STR, STR, Direction.REQUEST, "x") is None


def test_enum_values() -> None:
    removed_in_request = type_change(literal("a", "b"), literal("a"), Direction.REQUEST, "p")
    assert removed_in_request == (Impact.BREAKING, "p: enum values removed: `'b'`")
    added_in_response = type_change(literal("a"), literal("a", "b"), Direction.RESPONSE, "f")
    assert added_in_response == (Impact.COMPATIBLE, "f: enum values added: `'b'`")
    open_enum = type_change(union(STR, literal("a", "b")), union(STR, literal("a")), Direction.REQUEST, "m")
    assert open_enum is not None and open_enum[0] is Impact.COMPATIBLE  # any string is still accepted


def test_next_version() -> None:
    def report(version: str, breaking: bool, compatible: bool = False, docs: bool = False) -> Report:
        from generator.diff import Change

        changes = ((Change(Impact.BREAKING, "s", "t"),) if breaking else ()) + ((Change(Impact.COMPATIBLE, "s", "t"),) if compatible else ())
        return Report("T", version, version, changes, docs)

    assert report("2.3.0", True).next_version == "3.0.0"
    assert report("2.3.0", False, True).next_version == "2.4.0"
    assert report("2.3.0", False, False, True).next_version == "2.3.1"
    assert report("v1", True).next_version == "2.0.0"
    assert report("0.4.2", True).next_version == "0.5.0"
    assert report("2024-10-21", True).next_version == ""  # not semantic: the bump alone
    assert report("2024-10-21", True).bump is Bump.MAJOR


@pytest.mark.slow
def test_real_openai_description_with_edits(tmp_path: Path) -> None:
    """The 288-operation OpenAI description against a copy with a removed operation, a field made
    required, an enum value dropped and an optional parameter added."""
    if not OPENAI.is_file():
        pytest.skip(f"{OPENAI} is not there")
    text = OPENAI.read_text(encoding="utf-8")
    edits = [
        ("  /completions:\n    post:\n      operationId: createCompletion\n",
         "  /completions:\n    x-removed-post:\n      operationId: createCompletion\n"),
        ("      required:\n        - model\n        - input\n        - voice\n    CreateSpeechResponseStreamEvent:\n",
         "      required:\n        - model\n        - input\n        - voice\n        - speed\n    CreateSpeechResponseStreamEvent:\n"),
        ("            - wav\n            - pcm\n        speed:\n", "            - wav\n        speed:\n"),
        ("      summary: Returns a list of files.\n      parameters:\n",
         "      summary: Returns a list of files.\n      parameters:\n        - in: query\n          name: include_deleted\n"
         "          required: false\n          schema:\n            type: boolean\n"),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    edited = tmp_path / "openapi.yaml"
    edited.write_text(text, encoding="utf-8")
    report = diff_specs(OPENAI, edited, Config(package="openai"))
    assert [c.line for c in report.breaking] == [
        "`client.completions.create()` (`POST /completions`): removed",
        "`client.audio.speech.create()` (`POST /audio/speech`): parameter `speed` is now required",
        "`client.audio.speech.create()` (`POST /audio/speech`): parameter `response_format`: enum values removed: `'pcm'`",
    ]
    assert [c.line for c in report.compatible] == [
        "`client.files.list()` (`GET /files`): optional parameter `include_deleted: bool` added",
    ]
    assert report.bump is Bump.MAJOR and report.next_version == "3.0.0"
