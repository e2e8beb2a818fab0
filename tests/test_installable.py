"""The emitted folder is a package: `pip install generated/` works (metadata, py.typed, the
package itself), vendoring the package folder alone works, and the output passes pyright
--strict as well as mypy --strict (tests/test_typecheck.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from generator.config import load_config
from generator.pipeline import generate
from generator.write import write_tree
from tests.support.server import Reply, ScriptedServer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
PYRIGHT = ROOT / "node_modules" / ".bin" / "pyright"
COMPLETION = {"id": "c1", "object": "text_completion", "created": 1, "model": "m",
              "choices": [{"text": "installed", "index": 0, "logprobs": None, "finish_reason": "stop"}]}


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def test_emitted_pyproject_describes_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "generated" / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    assert project["name"] == "openai-client"
    assert project["version"] == "2.3.0"  # the spec's info.version
    assert project["dependencies"] == ["httpx>=0.27,<1", "pydantic>=2.7,<3"]
    assert project["requires-python"] == ">=3.10"
    assert project["readme"] == "README.md"
    assert pyproject["tool"]["flit"]["module"]["name"] == "openai_client"
    assert (ROOT / "generated" / "openai_client" / "py.typed").is_file()


def test_version_comes_from_configuration_when_set(tmp_path: Path) -> None:
    config = load_config(ROOT / "pyproject.toml").replace(version="3.1.0rc2")
    files = generate(config.spec_path, config)
    by_name = {str(p): text for p, text in files.items()}
    assert tomllib.loads(by_name["pyproject.toml"])["project"]["version"] == "3.1.0rc2"
    assert '__version__ = "3.1.0rc2"' in by_name["openai_client/_version.py"]


def test_pip_install_of_the_output_folder(tmp_path: Path, server: ScriptedServer) -> None:
    """A fresh virtualenv, `pip install <folder>` (dependencies from this environment, to stay
    fast and offline-friendly), then a call against a local server from the installed package."""
    source = tmp_path / "sdk"
    shutil.copytree(ROOT / "generated", source, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet",
         "--disable-pip-version-check", source, cwd=tmp_path)
    assert sorted(p.name for p in source.iterdir()) == [".sdkforge-manifest.json", "README.md", "api.md", "openai_client", "pyproject.toml"], \
        "building left files in the folder"
    # httpx and pydantic come from this environment (the package's own dependencies are checked above).
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip())
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    server.reply(Reply(body=COMPLETION))
    script = textwrap.dedent(f"""
        import importlib.metadata as metadata, json
        import openai_client
        from openai_client import OpenAI
        client = OpenAI(api_key="sk-installed", base_url={server.base_url!r}, max_retries=0)
        completion = client.completions.create(model="m", prompt="p")
        files = [str(f) for f in metadata.files("openai-client")]
        print(json.dumps({{"file": openai_client.__file__, "version": metadata.version("openai-client"),
                          "requires": metadata.requires("openai-client"), "files": files,
                          "text": completion.choices[0].text, "runtime": openai_client.__version__}}))
    """)
    found = json.loads(_run(python, "-c", script, cwd=tmp_path, env={"PATH": os.environ.get("PATH", "")}).stdout)
    assert Path(found["file"]).is_relative_to(venv), found["file"]  # the installed copy, not generated/
    assert found["version"] == found["runtime"] == "2.3.0"
    assert found["requires"] == ["httpx>=0.27,<1", "pydantic>=2.7,<3"]
    assert "openai_client/py.typed" in found["files"]
    assert "openai_client/_runtime/_base_client.py" in found["files"]
    assert found["text"] == "installed"
    assert server.requests[0].headers["authorization"] == "Bearer sk-installed"


def test_vendored_package_folder_works_alone(tmp_path: Path) -> None:
    """Copying only the package folder into another project is enough."""
    app = tmp_path / "app"
    shutil.copytree(ROOT / "generated" / "openai_client", app / "vendor" / "openai_client",
                    ignore=shutil.ignore_patterns("__pycache__"))
    libraries = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})  # httpx, pydantic
    script = (f"import sys; sys.path[:0] = {[str(app), *libraries]!r}\n"
              "from vendor.openai_client import OpenAI, AsyncOpenAI\n"
              "import vendor.openai_client.types as types\n"
              "print(OpenAI(api_key='k').base_url, types.Completion.__module__)\n")
    result = _run(sys.executable, "-I", "-c", script, cwd=app)
    assert result.stdout.split() == ["https://api.openai.com/v1/", "vendor.openai_client.types._models"]


@pytest.mark.slow
def test_output_passes_pyright_strict(tmp_path: Path) -> None:
    """generated/ and the golden packages (multipart, binary, query styles, nested resources,
    SSE without a switch) under pyright's strict mode, with this environment's httpx/pydantic."""
    if not PYRIGHT.is_file():
        reason = "pyright is not installed (npm ci installs it from package.json)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI must run it", pytrace=False)
        pytest.skip(reason)
    shutil.copytree(ROOT / "generated" / "openai_client", tmp_path / "openai_client", ignore=shutil.ignore_patterns("__pycache__"))
    packages = ["openai_client"]
    for case in sorted(p.name for p in GOLDEN.iterdir() if (p / "openapi.yaml").is_file()):
        config = load_config(GOLDEN / case / "sdkforge.toml").replace(spec="openapi.yaml")
        write_tree(tmp_path / case, generate(GOLDEN / case / "openapi.yaml", config))
        packages.append(f"{case}/{config.package}")
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({
        "typeCheckingMode": "strict",
        "pythonVersion": "3.10",
        "include": packages,
        "extraPaths": sorted({str(Path(p).parent) for p in packages if "/" in p}),
        "venvPath": str(Path(sys.prefix).parent),
        "venv": Path(sys.prefix).name,
    }), encoding="utf-8")
    result = subprocess.run([str(PYRIGHT), "--outputjson"], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600)
    report = json.loads(result.stdout)
    problems = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}" for d in report["generalDiagnostics"]]
    assert report["summary"]["filesAnalyzed"] > 30
    assert report["summary"]["errorCount"] == 0, "\n".join(problems)
