"""The user's path, played for real: sdkforge as a wheel in someone else's SDK repository.

Build the wheel from a copy of this checkout, install it into a fresh virtualenv in a temporary
directory, `sdkforge init` a repository there around the Ollama spec, run that repository's
`make generate` and `make test`, then import the client it generated and call it against a
local server. Nothing here imports sdkforge from this checkout: every step is a subprocess of
the new virtualenv (or pip), run outside the checkout.

Installing needs PyPI (or the configured index) for sdkforge's dependencies, pinned to
requirements.lock; the build needs setuptools from it too.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.server import Reply, ScriptedServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(os.environ.get("SDKFORGE_SPECS", ROOT.parent / "shared" / "specs"))
OLLAMA_SPEC = SPECS / "ollama" / "openapi.yaml"
# Environment that would leak this checkout or this test run into the user's commands.
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PIP_REQUIRE_VIRTUALENV")


def need(available: bool, reason: str) -> None:
    """Skip when a tool or the spec corpus is missing, except in CI (.ci/run sets CI=true): there
    the journey must run."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; CI must run the user journey", pytrace=False)
    pytest.skip(reason)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env or clean_env(), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def source_files() -> list[str]:
    """What a clone of this checkout holds (tracked files, plus new ones not yet committed)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                                capture_output=True, check=True).stdout.decode().split("\0")
        return sorted(name for name in listed if name and (ROOT / name).is_file())
    return sorted(p.relative_to(ROOT).as_posix() for top in ("pyproject.toml", "README.md", "generator", "templates")
                  for p in ([ROOT / top] if (ROOT / top).is_file() else (ROOT / top).rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout to build from, so builds leave nothing in (or race over) the checkout."""
    copy = tmp_path_factory.mktemp("source") / "sdkforge"
    for name in source_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return copy


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, source, cwd=dist)
    [built] = dist.glob("sdkforge-*.whl")
    return built


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def wheel_files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if ".dist-info/" not in name}


def test_wheel_carries_the_templates_and_the_runtime(source: Path, wheel: Path) -> None:
    names = set(wheel_files(wheel))
    shipped = {f"generator/templates/{p.relative_to(source / 'templates').as_posix()}"
               for p in (source / "templates").rglob("*")
               if p.is_file() and (p.suffix == ".j2" or p.parent.name == "runtime" and p.suffix == ".py")}
    assert {"generator/templates/runtime/_base_client.py", "generator/templates/package/_client.py.j2",
            "generator/templates/scaffold/tests/test_smoke.py.j2"} <= shipped
    assert shipped - names == set()
    assert {f"generator/{p.name}" for p in (source / "generator").glob("*.py")} <= names


def test_a_user_builds_an_sdk_repository_with_the_wheel(wheel: Path, tmp_path: Path, server: ScriptedServer) -> None:
    need(OLLAMA_SPEC.is_file(), f"{OLLAMA_SPEC} is not here (set SDKFORGE_SPECS)")
    need(shutil.which("make") is not None, "make is not installed")
    repo = tmp_path / "ollama-sdk"
    venv = repo / ".venv"  # where the repository's Makefile keeps its tools
    python, sdkforge = venv / "bin" / "python", venv / "bin" / "sdkforge"

    # A fresh virtualenv with the wheel (dependencies pinned as this project pins them). This
    # project's pip installs into it (`--python`, pip 22.3+): quicker than bootstrapping one.
    # (--no-compile: modules are compiled when first imported; most never are.)
    install = ("install", "--quiet", "--no-compile", "--constraint", ROOT / "requirements.lock", "pip>=25.1", wheel)
    if _version(importlib.metadata.version("pip")) >= (22, 3):
        run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
        run(sys.executable, "-m", "pip", "--python", python, *install, cwd=tmp_path, timeout=600)
    else:
        run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
        run(python, "-m", "pip", *install, cwd=tmp_path, timeout=600)
    where = run(python, "-c", "import generator; print(generator.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout

    # sdkforge init, from outside the repository, with a spec from elsewhere.
    init = run(sdkforge, "init", repo.name, "--spec", OLLAMA_SPEC, cwd=tmp_path)
    assert "package 'ollama', clients Ollama and AsyncOllama" in init.stderr
    assert (repo / "spec" / "openapi.yaml").read_bytes() == OLLAMA_SPEC.read_bytes()
    pyproject = (repo / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"sdkforge @ {wheel.as_uri()}"' in pyproject  # the repository depends on this very wheel

    # The repository's own loop.
    run("make", "generate", cwd=repo, timeout=600)
    client_module = repo / "generated" / "ollama" / "_client.py"
    assert "Generated by sdkforge" in client_module.read_text(encoding="utf-8").splitlines()[0]
    tested = run("make", "test", cwd=repo)
    assert " passed" in tested.stdout and "failed" not in tested.stdout
    run("make", "check", cwd=repo)  # generated/ is what the spec and settings produce

    # The user's code: import the generated client and call it.
    server.reply(
        Reply(body={"version": "0.9.0"}),
        Reply(body={"model": "llama3.2", "message": {"role": "assistant", "content": "Rayleigh scattering."}, "done": True}),
        Reply(headers={"content-type": "application/x-ndjson"},
              chunks=[b'{"model":"llama3.2","response":"Hel","done":false}\n', b'{"model":"llama3.2","response":"lo","done":true}\n']),
    )
    script = (
        "import json, sys\n"
        "import ollama\n"
        "from ollama import Ollama\n"
        "with Ollama(api_key='journey-key', base_url=sys.argv[1], max_retries=0) as client:\n"
        "    version = client.version.retrieve()\n"
        "    chat = client.chat.create(model='llama3.2', messages=[{'role': 'user', 'content': 'Why is the sky blue?'}], stream=False)\n"
        "    events = [event.response for event in client.generate.create(model='llama3.2', prompt='Say hello')]\n"
        "print(json.dumps({'module': ollama.__file__, 'version': version.version, 'chat': chat.message.content,\n"
        "                  'done': chat.done, 'events': events}))\n"
    )
    called = run(python, "-c", script, server.base_url, cwd=repo, env=clean_env(PYTHONPATH=str(repo / "generated")))
    output = json.loads(called.stdout)
    assert Path(output["module"]).is_relative_to(repo / "generated")
    assert (output["version"], output["chat"], output["done"], output["events"]) == ("0.9.0", "Rayleigh scattering.", True, ["Hel", "lo"])
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/api/version"), ("POST", "/api/chat"), ("POST", "/api/generate")]
    assert all(r.headers["authorization"] == "Bearer journey-key" for r in server.requests)
    assert server.requests[1].json() == {"model": "llama3.2", "messages": [{"role": "user", "content": "Why is the sky blue?"}], "stream": False}
    assert server.requests[2].json() == {"model": "llama3.2", "prompt": "Say hello"}  # stream left out: Ollama streams

    # A hand edit of generated code is what `make check` is there to catch.
    with client_module.open("a", encoding="utf-8") as handle:
        handle.write("# edited by hand\n")
    drifted = subprocess.run(["make", "check"], cwd=repo, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert drifted.returncode != 0
    assert "ollama/_client.py" in drifted.stdout + drifted.stderr


def test_installing_from_a_git_url_builds_the_same_wheel(source: Path, wheel: Path, tmp_path: Path) -> None:
    need(shutil.which("git") is not None, "git is not installed")
    repository = tmp_path / "sdkforge.git"
    shutil.copytree(source, repository)
    git_env = clean_env(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_AUTHOR_NAME="journey",
                        GIT_AUTHOR_EMAIL="journey@example.invalid", GIT_COMMITTER_NAME="journey",
                        GIT_COMMITTER_EMAIL="journey@example.invalid")
    run("git", "init", "--quiet", cwd=repository, env=git_env)
    run("git", "add", "--all", cwd=repository, env=git_env)
    run("git", "commit", "--quiet", "--no-gpg-sign", "-m", "snapshot", cwd=repository, env=git_env)
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, f"git+{repository.as_uri()}",
        cwd=tmp_path, env=git_env)
    [from_git] = dist.glob("sdkforge-*.whl")
    assert wheel_files(from_git) == wheel_files(wheel)
