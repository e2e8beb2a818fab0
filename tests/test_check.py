"""The maintainer's loop around `sdkforge generate`: `sdkforge check` (drift), the pre-commit
hook, template overrides, `--verbose`, the summary line and the progress display."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from generator.cli import Progress, main
from generator.pipeline import STAGES, Stage, generate
from generator.config import load_config
from generator.write import MANIFEST

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
LISTING = ROOT / "tests" / "golden" / "listing" / "openapi.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An SDK repository: a spec, [tool.sdkforge] settings, and generated/ freshly generated."""
    (tmp_path / "spec").mkdir()
    shutil.copy(LISTING, tmp_path / "spec" / "openapi.yaml")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.sdkforge]\nspec = "spec/openapi.yaml"\nout = "generated"\npackage = "listing"\n'
        'client-class = "Listing"\napi-key-env = "LISTING_API_KEY"\n',
        encoding="utf-8",
    )
    assert sdkforge("generate", repo=tmp_path)[0] == 0
    return tmp_path


def sdkforge(*argv: str, repo: Path) -> tuple[int, str, str]:
    """Run the CLI in-process with the repository's configuration; (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = main([argv[0], "--config", str(repo / "pyproject.toml"), *argv[1:]])
    finally:
        sys.stdout, sys.stderr = saved
    return status, out.getvalue(), err.getvalue()


def tree(directory: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(directory)): (p.stat().st_mtime_ns, p.read_bytes()) for p in directory.rglob("*") if p.is_file()}


# -- check ------------------------------------------------------------------------------------


def test_check_passes_on_fresh_output_and_writes_nothing(repo: Path) -> None:
    before = tree(repo)
    status, out, err = sdkforge("check", repo=repo)
    assert status == 0, err
    assert out == ""
    assert "generated is up to date" in err
    assert tree(repo) == before  # not a byte, not a timestamp


def test_check_shows_a_hand_edit_as_a_diff(repo: Path) -> None:
    client = repo / "generated" / "listing" / "_client.py"
    original = client.read_text(encoding="utf-8")
    client.write_text(original.replace('DEFAULT_BASE_URL = "', 'DEFAULT_BASE_URL = "http://hacked" or "', 1), encoding="utf-8")
    status, out, err = sdkforge("check", repo=repo)
    assert status == 1
    assert "--- a/listing/_client.py\n+++ b/listing/_client.py\n" in out
    assert '-DEFAULT_BASE_URL = "http://hacked" or "' in out
    assert '+DEFAULT_BASE_URL = "https://listing.example.com/api/v2"' in out
    assert "generated is out of date (1 changed)" in err and "sdkforge generate" in err
    status, out, err = sdkforge("check", "--quiet", repo=repo)
    assert (status, out) == (1, "")


def test_check_sees_a_spec_change(repo: Path) -> None:
    spec = yaml.safe_load((repo / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    spec["paths"]["/items"]["get"]["parameters"].append({"name": "sort", "in": "query", "schema": {"type": "string"}})
    del spec["paths"]["/events"]
    (repo / "spec" / "openapi.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    status, out, err = sdkforge("check", repo=repo)
    assert status == 1
    assert "+        sort: str | NotGiven = NOT_GIVEN," in out
    # the events module would be removed: the diff deletes it
    assert "--- a/listing/resources/events.py\n+++ /dev/null\n" in out
    assert "to remove" in err
    assert sdkforge("generate", repo=repo)[0] == 0
    assert sdkforge("check", repo=repo)[0] == 0


def test_check_reports_missing_files_and_a_missing_output(repo: Path) -> None:
    (repo / "generated" / "listing" / "types" / "_models.py").unlink()
    status, out, err = sdkforge("check", repo=repo)
    assert status == 1 and "--- /dev/null\n+++ b/listing/types/_models.py\n" in out and "1 missing" in err
    shutil.rmtree(repo / "generated")
    status, out, err = sdkforge("check", repo=repo)
    assert status == 1 and "missing" in err and "+++ b/README.md" in out


def test_check_ignores_what_sdkforge_does_not_own(repo: Path) -> None:
    generated = repo / "generated"
    (generated / "listing" / "__pycache__").mkdir(exist_ok=True)
    (generated / "listing" / "__pycache__" / "_client.cpython-311.pyc").write_bytes(b"\x00junk")
    (generated / "build" / "lib").mkdir(parents=True)
    (generated / "build" / "lib" / "x.py").write_text("x = 1\n", encoding="utf-8")
    (generated / "NOTES.md").write_text("ours\n", encoding="utf-8")
    status, _, err = sdkforge("check", repo=repo)
    assert status == 0, err


def test_check_notices_a_tampered_manifest(repo: Path) -> None:
    manifest = repo / "generated" / MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"listing/py.typed"', '"listing/py_typed"'), encoding="utf-8")
    status, out, err = sdkforge("check", repo=repo)
    assert status == 1 and "manifest out of date" in err and f"+++ b/{MANIFEST}" in out


def test_check_verbose_lists_each_file(repo: Path) -> None:
    (repo / "generated" / "README.md").write_text("edited\n", encoding="utf-8")
    status, _, err = sdkforge("check", "--verbose", repo=repo)
    assert status == 1
    assert "  M generated/README.md" in err
    assert "    generated/listing/_client.py" in err


def test_check_on_this_repository_is_fast_enough_for_a_hook() -> None:
    """generated/ is current (the golden test checks the same thing file by file), and a check
    takes about as long as a generation: a second or two for spec/."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "generator", "check"], cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert elapsed < 30, elapsed  # generous: shared CI machines; typically 2-3 s


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "sdkforge-check"]
    assert hook["entry"] == "sdkforge check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    scripts = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'sdkforge = "generator.cli:main"' in scripts  # the entry point the hook's environment installs


# -- generate: summary, --verbose, progress ---------------------------------------------------


def test_generate_summary_and_verbose_listing(repo: Path) -> None:
    status, _, err = sdkforge("generate", repo=repo)
    assert status == 0
    (summary,) = err.splitlines()
    assert summary.startswith("sdkforge: 4 operations, 2 models, ")
    assert " files for package 'listing' written to generated in " in summary and summary.endswith("s")
    (repo / "generated" / "README.md").write_text("edited\n", encoding="utf-8")
    (repo / "generated" / "listing" / "py.typed").unlink()
    status, _, err = sdkforge("generate", "--verbose", repo=repo)
    assert status == 0
    lines = err.splitlines()
    assert "  M generated/README.md" in lines
    assert "  + generated/listing/py.typed" in lines
    assert "    generated/listing/_client.py" in lines
    assert lines[-1].startswith("sdkforge: 4 operations")


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_shows_stages_of_large_specs_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    terminal = FakeTerminal(tty=True)
    progress = Progress(terminal)
    for name in STAGES:
        progress(Stage(name, 288))
    progress.done()
    shown = terminal.getvalue()
    assert "[1/6] load: 288 operations" in shown and "[4/6] models: 288 operations" in shown
    assert shown.endswith("\r\x1b[K")  # the line is cleared before the summary
    for terminal, operations in ((FakeTerminal(tty=True), 12), (FakeTerminal(tty=False), 288)):
        progress = Progress(terminal)
        for name in STAGES:
            progress(Stage(name, operations))
        progress.done()
        assert terminal.getvalue() == ""  # small specs and pipes get only the summary


def test_pipeline_reports_each_stage_in_order() -> None:
    config = load_config(ROOT / "tests" / "golden" / "listing" / "sdkforge.toml").replace(spec="openapi.yaml")
    seen: list[Stage] = []
    generate(LISTING, config, on_stage=seen.append)
    assert [s.name for s in seen] == list(STAGES)
    assert all(s.operations == 4 for s in seen[1:])
    assert seen[-1].api is not None and seen[-1].api.operation_count == 4


# -- template overrides ------------------------------------------------------------------------


def test_template_overrides_replace_ours_by_name(repo: Path) -> None:
    overrides = repo / "sdk-templates"
    (overrides / "resources").mkdir(parents=True)
    # Replace the README, keeping ours below a banner; and change every resource module.
    (overrides / "README.md.j2").write_text(
        "# Internal build of {{ api.title.text }}\n\nAsk #sdk-team before upgrading.\n\n"
        '{% include "sdkforge/README.md.j2" %}', encoding="utf-8")
    resource = (ROOT / "templates" / "package" / "resources" / "resource.py.j2").read_text(encoding="utf-8")
    (overrides / "resources" / "resource.py.j2").write_text(
        resource.replace('"""The {{ resource.attribute }} resource:', '"""ACME edition. The {{ resource.attribute }} resource:'),
        encoding="utf-8")
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write('templates = "sdk-templates"\n')
    status, out, err = sdkforge("check", repo=repo)
    assert status == 1 and '+"""ACME edition. The items resource:' in out  # check uses the overrides too
    assert sdkforge("generate", repo=repo)[0] == 0
    readme = (repo / "generated" / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Internal build of Listing API\n\nAsk #sdk-team before upgrading.\n\n<!-- Generated by sdkforge")
    assert "## Installation" in readme
    items = (repo / "generated" / "listing" / "resources" / "items.py").read_text(encoding="utf-8")
    assert '"""ACME edition. The items resource:' in items
    client = (repo / "generated" / "listing" / "_client.py").read_text(encoding="utf-8")
    assert "ACME" not in client  # templates not overridden are ours
    assert sdkforge("check", repo=repo)[0] == 0


def test_template_override_with_an_unknown_name_is_an_error(repo: Path) -> None:
    (repo / "sdk-templates").mkdir()
    (repo / "sdk-templates" / "client.py.j2").write_text("{{ header }}\n", encoding="utf-8")
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write('templates = "sdk-templates"\n')
    status, _, err = sdkforge("generate", repo=repo)
    assert status == 2
    assert "client.py.j2 replaces no sdkforge template" in err and "_client.py.j2" in err
    (repo / "sdk-templates" / "client.py.j2").unlink()
    (repo / "sdk-templates").rmdir()
    status, _, err = sdkforge("generate", repo=repo)
    assert status == 2 and "sdk-templates is not a directory" in err


def test_sdkforge_ships_its_templates() -> None:
    """The package-data globs of generator.templates cover every package template (a wheel of
    sdkforge, e.g. the pre-commit hook's environment, would miss any other)."""
    configured = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = configured["tool"]["setuptools"]["package-data"]["generator.templates"]
    shipped = {p for pattern in patterns for p in (ROOT / "templates").glob(pattern)}
    templates = set((ROOT / "templates" / "package").rglob("*.j2"))
    assert {"README.md.j2", "api.md.j2", "pyproject.toml.j2"} <= {p.name for p in templates}
    assert templates <= shipped, sorted(str(p) for p in templates - shipped)
