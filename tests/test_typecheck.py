"""The emitted packages pass mypy --strict, and the overloads give the types users rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.config import load_config
from generator.pipeline import generate
from generator.write import write_tree

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def mypy(*targets: str, cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(path)} if path else None
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.10",
         "--cache-dir", str(ROOT / ".mypy_cache"), *targets],  # never a cache inside generated/
        cwd=cwd, capture_output=True, text=True, check=False, env=env,
    )


def test_generated_package_and_overload_types_pass_mypy_strict() -> None:
    result = mypy("openai_client", str(ROOT / "tests" / "typing" / "check_overloads.py"), cwd=ROOT / "generated")
    assert result.returncode == 0, result.stdout + result.stderr


def test_overload_checks_can_fail(tmp_path: Path) -> None:
    """The assert_type file is not vacuous: a wrong expectation is reported."""
    bad = "from openai_client import OpenAI, Stream\nfrom openai_client.types import Completion\nfrom typing_extensions import assert_type\n" \
          "def f(c: OpenAI) -> None:\n    assert_type(c.completions.create(model='m', prompt='p'), Stream[Completion])\n"
    probe = tmp_path / "probe_wrong_type.py"
    probe.write_text(bad, encoding="utf-8")
    result = mypy(probe.name, cwd=tmp_path, path=ROOT / "generated")
    assert result.returncode == 1 and "[assert-type]" in result.stdout, result.stdout


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if (p / "openapi.yaml").is_file()))
def test_golden_packages_pass_mypy_strict(case: str, tmp_path: Path) -> None:
    config = load_config(GOLDEN / case / "sdkforge.toml").replace(spec="openapi.yaml")
    write_tree(tmp_path / "out", generate(GOLDEN / case / "openapi.yaml", config))
    result = mypy(config.package, cwd=tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
