"""`sdkforge init`: the SDK repository it scaffolds, and the configuration that repository owns.

The scaffolded loop runs for real here (in this process's environment): init, then
`sdkforge generate` with the repository's pyproject.toml, then the repository's own smoke test
in a pytest subprocess against a local HTTP server. tests/test_user_journey.py does the same
from a wheel in a fresh virtualenv, through the repository's Makefile.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from generator import cli
from generator.config import load_config
from generator.init import installed_requirement, names_from_title, scaffold

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SCAFFOLD = {".gitignore", "Makefile", "README.md", "pyproject.toml", "spec/openapi.yaml", "tests/test_smoke.py"}


def run_init(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["init", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def files_in(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def generate_and_smoke_test(repo: Path, monkeypatch: pytest.MonkeyPatch) -> subprocess.CompletedProcess[str]:
    """`sdkforge generate` as the repository configures it, then the repository's own tests."""
    monkeypatch.chdir(repo)
    assert cli.main(["generate"]) == 0
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


# -- names from the spec's title ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "package", "client_class"),
    [
        ("Ollama API", "ollama", "Ollama"),
        ("Mistral AI API", "mistral_ai", "MistralAI"),
        ("OpenAI API", "openai", "OpenAI"),
        ("Swagger Petstore - OpenAPI 3.1", "swagger_petstore", "SwaggerPetstore"),
        ("Together APIs", "together", "Together"),
        ("Tic Tac Toe", "tic_tac_toe", "TicTacToe"),
        ("Ünïcode Sérvice v2", "unicode_service", "UnicodeService"),
        ("3D Print API", "api_3d_print", "Api3DPrint"),
        ("Email API", "email_client", "Email"),  # the standard library's `email` stays reachable
        ("None", "none", "NoneClient"),
        ("REST API 2.0", "client", "Client"),  # nothing left: the defaults
        ("", "client", "Client"),
    ],
)
def test_names_come_from_the_title(title: str, package: str, client_class: str) -> None:
    names = names_from_title(title)
    assert (names.package, names.client_class) == (package, client_class)


# -- the scaffold ------------------------------------------------------------------------------


def test_init_scaffolds_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "acme-sdk"
    code, out, err = run_init(capsys, str(repo), "--client-name", "Acme", "--sdkforge-requirement", "sdkforge==0.1.0")
    assert code == 0, err
    assert files_in(repo) == SCAFFOLD
    for name in sorted(SCAFFOLD):
        assert f"created {(repo / name).as_posix()}" in err
    assert "make generate && make test" in err

    pyproject = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["dependency-groups"]["dev"] == ["sdkforge==0.1.0", "pytest>=8"]
    assert pyproject["tool"]["sdkforge"] == {
        "spec": "spec/openapi.yaml", "out": "generated", "package": "acme", "client-class": "Acme",
        "async-client-class": "AsyncAcme", "api-key-env": "ACME_API_KEY", "base-url-env": "ACME_BASE_URL",
    }
    config = load_config(repo / "pyproject.toml")  # every key init writes is one sdkforge knows
    assert (config.package, config.client_class, config.async_client_name) == ("acme", "Acme", "AsyncAcme")
    assert config.spec_path == repo / "spec" / "openapi.yaml"
    assert "title: \"Acme API\"" in (repo / "spec" / "openapi.yaml").read_text(encoding="utf-8")

    makefile = (repo / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^(\w+): \$\(STAMP\)\n\t(.+)$", makefile, re.MULTILINE))
    assert recipes == {"generate": "$(BIN)/sdkforge generate", "check": "$(BIN)/sdkforge check",
                       "test": "$(BIN)/python -m pytest"}
    assert "--group dev" in makefile
    assert ".venv/" in (repo / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "make generate" in (repo / "README.md").read_text(encoding="utf-8")

    smoke = (repo / "tests" / "test_smoke.py").read_text(encoding="utf-8")
    assert "result = client.items.list()" in smoke  # GET /items: the call with nothing required
    assert 'assert request.path == "/items"' in smoke
    assert 'assert request.headers["authorization"] == "Bearer " + API_KEY' in smoke
    compile(smoke, "test_smoke.py", "exec")


@pytest.mark.slow
def test_scaffolded_smoke_test_passes_and_catches_a_wrong_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "acme-sdk"
    assert run_init(capsys, str(repo), "--client-name", "Acme")[0] == 0
    result = generate_and_smoke_test(repo, monkeypatch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout

    # The smoke test has teeth: a client that sends the wrong path fails it.
    resource = repo / "generated" / "acme" / "resources" / "items.py"
    resource.write_text(resource.read_text(encoding="utf-8").replace('"/items"', '"/itemz"'), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    broken = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert "/itemz" in broken.stdout


def test_init_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("# mine\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_smoke.py").write_text("# mine too\n", encoding="utf-8")
    code, _, err = run_init(capsys, str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# mine\n"
    assert (tmp_path / "tests" / "test_smoke.py").read_text(encoding="utf-8") == "# mine too\n"
    for name in ("README.md", "tests/test_smoke.py"):
        assert f"skipped {(tmp_path / name).as_posix()} (exists; --force overwrites it)" in err
    assert files_in(tmp_path) == SCAFFOLD

    before = {name: (tmp_path / name).read_bytes() for name in SCAFFOLD}
    code, _, err = run_init(capsys, str(tmp_path))  # a second run changes nothing
    assert code == 0
    assert err.count("skipped") == len(SCAFFOLD)
    assert {name: (tmp_path / name).read_bytes() for name in SCAFFOLD} == before

    code, _, err = run_init(capsys, str(tmp_path), "--force")
    assert code == 0
    assert f"overwrote {(tmp_path / 'README.md').as_posix()}" in err
    assert (tmp_path / "README.md").read_text(encoding="utf-8").startswith("# Example API")


def test_existing_pyproject_is_kept_and_the_settings_are_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = '[project]\nname = "already-here"\n'
    (tmp_path / "pyproject.toml").write_text(original, encoding="utf-8")
    code, out, err = run_init(capsys, str(tmp_path), "--package", "weather")
    assert code == 0, err
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == original
    assert "add these settings to it yourself" in err
    settings = tomllib.loads(out)["tool"]["sdkforge"]
    assert settings["package"] == "weather" and settings["client-class"] == "Weather"
    # Pasted in, the printed table is a configuration sdkforge accepts.
    (tmp_path / "pyproject.toml").write_text(original + "\n" + out, encoding="utf-8")
    assert load_config(tmp_path / "pyproject.toml").api_key_env == "WEATHER_API_KEY"


def test_spec_is_copied_byte_for_byte_and_json_stays_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "inventory.json"
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Inventory Service API", "version": "1"},
        "paths": {"/stock/{sku}": {"get": {"operationId": "getStock", "parameters": [
            {"name": "sku", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "integer"}}}}}}}},
    }
    source.write_bytes(json.dumps(document, indent=1).encode() + b"\n")
    repo = tmp_path / "repo"
    code, _, err = run_init(capsys, str(repo), "--spec", str(source))
    assert code == 0, err
    assert (repo / "spec" / "openapi.json").read_bytes() == source.read_bytes()
    assert not (repo / "spec" / "openapi.yaml").exists()
    settings = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["sdkforge"]
    assert (settings["spec"], settings["package"], settings["client-class"]) == ("spec/openapi.json", "inventory_service", "InventoryService")
    smoke = (repo / "tests" / "test_smoke.py").read_text(encoding="utf-8")
    assert 'result = client.stock.get("smoke-id")' in smoke
    assert 'assert request.path == "/stock/smoke-id"' in smoke
    assert "API_KEY" not in smoke  # no security scheme: the client takes no key


def test_a_spec_inside_the_repository_stays_where_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "api").mkdir()
    spec = tmp_path / "api" / "petstore.yml"
    spec.write_text(scaffold().files[PurePosixPath("spec/openapi.yaml")].decode().replace("Example API", "Pet Store"), encoding="utf-8")
    code, _, err = run_init(capsys, str(tmp_path), "--spec", str(spec))
    assert code == 0, err
    assert not (tmp_path / "spec").exists()
    settings = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["sdkforge"]
    assert (settings["spec"], settings["package"]) == ("api/petstore.yml", "pet_store")
    assert load_config(tmp_path / "pyproject.toml").spec_path == tmp_path / "api" / "petstore.yml"


def test_a_copied_spec_with_references_to_other_files_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "split.yaml"
    source.write_text("openapi: 3.1.0\ninfo: {title: Split, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
                      "        '200': {$ref: 'responses.yaml#/Ok'}\n", encoding="utf-8")
    (tmp_path / "responses.yaml").write_text("Ok: {description: ok}\n", encoding="utf-8")
    code, _, err = run_init(capsys, str(tmp_path / "repo"), "--spec", str(source))
    assert code == 0, err
    assert "refers to other files (responses.yaml#/Ok): copy them beside spec/openapi.yaml" in err


def test_id_and_anchor_references_are_not_other_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "ids.yaml"
    source.write_text(
        "openapi: 3.1.0\ninfo: {title: Ids, version: '1'}\n"
        "components:\n  schemas:\n    Pet:\n      $id: /schemas/pet\n      type: object\n"
        "      properties: {name: {type: string}}\n"
        "paths:\n  /pets/{pet_id}:\n    get:\n      operationId: getPet\n      parameters:\n"
        "        - {name: pet_id, in: path, required: true, schema: {type: integer}}\n"
        "      responses:\n        '200':\n          description: ok\n          content:\n"
        "            application/json: {schema: {$ref: '/schemas/pet'}}\n", encoding="utf-8")
    code, _, err = run_init(capsys, str(tmp_path / "repo"), "--spec", str(source))
    assert code == 0, err
    assert "other files" not in err
    smoke = (tmp_path / "repo" / "tests" / "test_smoke.py").read_text(encoding="utf-8")
    assert "result = client.pets.get(1)" in smoke
    assert 'assert request.path == "/pets/1"' in smoke


def test_a_spec_with_errors_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "broken.yaml"
    source.write_text("openapi: 3.1.0\ninfo:\n  title: Broken\npaths:\n  /x:\n    get:\n      responses: 12\n", encoding="utf-8")
    repo = tmp_path / "repo"
    code, _, err = run_init(capsys, str(repo), "--spec", str(source))
    assert code == 2
    assert "broken.yaml" in err and "nothing was written" in err
    assert not repo.exists()


def test_bad_names_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_init(capsys, str(tmp_path / "r"), "--package", "Not-A-Package")
    assert code == 2
    assert "'Not-A-Package' is not a lower-case Python identifier" in err
    code, _, err = run_init(capsys, str(tmp_path / "r"), "--out", "../elsewhere")
    assert code == 2
    assert "--out '../elsewhere'" in err
    assert not (tmp_path / "r").exists()


def test_scaffold_is_deterministic() -> None:
    first = scaffold(package="same", requirement="sdkforge==0.1.0")
    second = scaffold(package="same", requirement="sdkforge==0.1.0")
    assert first.files == second.files
    assert all(isinstance(text, bytes) and text.endswith(b"\n") for text in first.files.values())


AUTH_SPEC = """\
openapi: 3.0.3
info: {{title: Keyed, version: "1"}}
components:
  securitySchemes:
    key: {scheme}
security: [{{key: []}}]
paths:
  /things:
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, size, kind]
              properties:
                name: {{type: string}}
                size: {{type: integer}}
                kind: {{type: string, enum: [big, small]}}
      responses:
        "204": {{description: created}}
"""


AUTH_SCHEMES = {
    "query-key": ("{type: apiKey, in: query, name: api-key}", '"api-key=" + API_KEY in request.query.split("&")'),
    "basic": ("{type: http, scheme: basic}", 'request.headers["authorization"] == "Basic c21va2UtdXNlcjpzbW9rZS1wYXNzd29yZA=="'),
    "header-key": ("{type: apiKey, in: header, name: X-Api-Key}", 'request.headers["x-api-key"] == API_KEY'),
}


def init_keyed(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    source = tmp_path / "keyed.yaml"
    source.write_text(AUTH_SPEC.format(scheme=AUTH_SCHEMES[kind][0]), encoding="utf-8")
    repo = tmp_path / "repo"
    code, _, err = run_init(capsys, str(repo), "--spec", str(source))
    assert code == 0, err
    return repo


@pytest.mark.parametrize("kind", sorted(AUTH_SCHEMES))
def test_smoke_test_checks_the_credentials_of_each_auth_kind(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    smoke = (init_keyed(kind, tmp_path, capsys) / "tests" / "test_smoke.py").read_text(encoding="utf-8")
    assert f"    assert {AUTH_SCHEMES[kind][1]}\n" in smoke
    assert 'client.things.create(name="smoke", size=1, kind="big")' in smoke  # every required field
    assert "assert result is None" in smoke  # 204: no body


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["query-key", "basic"])
def test_credential_checks_pass_against_the_generated_client(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    result = generate_and_smoke_test(init_keyed(kind, tmp_path, capsys), monkeypatch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


# -- configuration belongs to the SDK repository ------------------------------------------------


def test_unknown_key_is_an_error_naming_key_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.sdkforge]\npackage = "x"\nclient_clas = "X"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["generate"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'client_clas'" in err
    assert "pyproject.toml" in err
    assert not (tmp_path / "generated").exists()


def test_config_flag_reads_another_repositorys_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "sdk"
    assert run_init(capsys, str(repo), "--package", "elsewhere")[0] == 0
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text('[tool.sdkforge]\npackage = "not_this_one"\n', encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    assert cli.main(["generate", "--config", str(repo / "pyproject.toml")]) == 0
    # Paths in [tool.sdkforge] are relative to the file that holds them, not to where the command runs.
    assert (repo / "generated" / "elsewhere" / "_client.py").is_file()
    assert not (elsewhere / "generated").exists()


# -- the sdkforge requirement the repository records ----------------------------------------------


def _dist(tmp_path: Path, direct_url: dict[str, object] | None) -> importlib.metadata.Distribution:
    info = tmp_path / "sdkforge-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sdkforge\nVersion: 0.1.0\n", encoding="utf-8")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
    return importlib.metadata.PathDistribution(info)


@pytest.mark.parametrize(
    ("direct_url", "requirement"),
    [
        (None, "sdkforge==0.1.0"),
        ({"url": "https://github.com/acme/sdkforge.git", "vcs_info": {"vcs": "git", "commit_id": "0123abc", "requested_revision": "v0.1.0"}},
         "sdkforge @ git+https://github.com/acme/sdkforge.git@0123abc"),
        ({"url": "file:///wheels/sdkforge-0.1.0-py3-none-any.whl", "archive_info": {}},
         "sdkforge @ file:///wheels/sdkforge-0.1.0-py3-none-any.whl"),
        ({"url": "file:///src/mono", "vcs_info": {"vcs": "git", "commit_id": "ff00"}, "subdirectory": "tools/sdkforge"},
         "sdkforge @ git+file:///src/mono@ff00#subdirectory=tools/sdkforge"),
    ],
    ids=["index", "git", "wheel", "git-subdirectory"],
)
def test_requirement_pins_where_sdkforge_came_from(tmp_path: Path, direct_url: dict[str, object] | None, requirement: str) -> None:
    assert installed_requirement(_dist(tmp_path, direct_url)) == requirement


def test_generator_reads_no_files_relative_to_its_checkout() -> None:
    # Templates and the runtime come through importlib.resources, so an installed wheel works.
    offenders = [f"{path.name}:{number}" for path in sorted((ROOT / "generator").glob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "__file__" in line or "parent.parent" in line]
    assert offenders == []
