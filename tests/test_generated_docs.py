"""The documentation sdkforge writes beside the package (README.md, api.md): its examples run,
against a real HTTP server on 127.0.0.1, and they send exactly the spec's examples."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.config import Config, load_config
from generator.docs import NotALiteral, package_version, python_literal
from generator.load import load_spec
from generator.lower import lower
from generator.pipeline import generate
from generator.write import write_tree
from tests.support.server import Recorded, Reply, ScriptedServer, sse

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SPEC = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
OPERATION = SPEC["paths"]["/completions"]["post"]
EXAMPLES = {name: e["value"] for name, e in OPERATION["requestBody"]["content"]["application/json"]["examples"].items()}
COMPLETION = OPERATION["responses"]["200"]["content"]["application/json"]["example"]


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


def chunk(text: str, finish_reason: str | None = None) -> dict[str, Any]:
    return {**COMPLETION, "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}]}


def completions_server(request: Recorded) -> Reply:
    """What the Completions API answers: a stream when the body asks for one, else a completion."""
    if request.body and json.loads(request.body).get("stream") is True:
        return Reply(chunks=sse(chunk("This is"), chunk(" a streamed test", "stop")))
    return Reply(body=COMPLETION, headers={"x-request-id": "req_docs"})


def answer_with(server: ScriptedServer, respond: Any) -> None:
    # The server records a request before it asks for a reply: answer from what was sent.
    server.next_reply = lambda: respond(server.requests[-1])  # type: ignore[method-assign]


def run_blocks(blocks: list[str], namespace: dict[str, Any], server: ScriptedServer) -> list[tuple[str, list[Recorded], str]]:
    """Run README blocks in order in one namespace (as a reader would); what each sent and printed."""
    results = []
    for block in blocks:
        before = len(server.requests)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the examples under test
        results.append((block, server.requests[before:], out.getvalue()))
    return results


@pytest.fixture
def docs_env(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedServer:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    return server


def test_readme_examples_run_and_send_the_specs_examples(docs_env: ScriptedServer) -> None:
    server = docs_env
    readme = (ROOT / "generated" / "README.md").read_text(encoding="utf-8")
    blocks = python_blocks(readme)
    assert len(blocks) >= 6, "client setup, usage, streaming, async, errors, retries, raw responses"
    answer_with(server, completions_server)
    results = run_blocks(blocks, {"__name__": "readme"}, server)

    sent = [request.json() for _, requests, _ in results for request in requests]
    assert all(r.method == "POST" and r.path == "/completions" for _, requests, _ in results for r in requests)
    assert all(r.headers["authorization"] == "Bearer sk-docs-test" for _, requests, _ in results for r in requests)
    # Every call sends one of the spec's examples exactly, and both of them are shown.
    assert all(body in EXAMPLES.values() for body in sent), sent
    assert EXAMPLES["basic"] in sent and EXAMPLES["streaming"] in sent
    assert "Say this is a test." in readme
    printed = "".join(out for _, _, out in results)
    assert COMPLETION["choices"][0]["text"].strip() in printed  # a parsed completion was printed
    assert " a streamed test" in printed  # and streamed chunks, sync and async
    assert printed.count(" a streamed test") >= 2
    blocks_that_called = [block for block, requests, _ in results if requests]
    assert any("async def main" in block for block in blocks_that_called)
    assert any("with_raw_response" in block for block in blocks_that_called)


def test_readme_error_example_handles_an_error_status(docs_env: ScriptedServer) -> None:
    server = docs_env
    blocks = python_blocks((ROOT / "generated" / "README.md").read_text(encoding="utf-8"))
    setup = next(b for b in blocks if "client = OpenAI()" in b)
    errors = next(b for b in blocks if "except" in b)
    answer_with(server, lambda _: Reply(400, body={"error": {"message": "bad prompt", "type": "invalid_request_error",
                                                            "param": "prompt", "code": None}}))
    (_, _, _), (_, requests, printed) = run_blocks([setup, errors], {"__name__": "readme"}, server)
    assert len(requests) == 1 and requests[0].json() == EXAMPLES["basic"]
    assert printed.startswith("The API answered 400:") and "bad prompt" in printed


def test_readme_reads_as_a_manual() -> None:
    readme = (ROOT / "generated" / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    assert headings[:3] == ["Installation", "Client setup", "Usage"]
    for section in ("Streaming", "Async usage", "Errors", "Retries and timeouts"):
        assert section in headings
    assert "pip install ./generated" in readme
    assert "OPENAI_API_KEY" in readme and "OPENAI_BASE_URL" in readme
    assert '"httpx>=0.27,<1" "pydantic>=2.7,<3"' in readme
    assert "sdkforge" in readme.splitlines()[0] and "Do not edit" in readme.splitlines()[0]


def test_api_md_lists_every_resource_method_parameter_and_model() -> None:
    config = load_config(ROOT / "pyproject.toml")
    api = lower(load_spec(config.spec_path, label=config.spec), config)
    text = (ROOT / "generated" / "api.md").read_text(encoding="utf-8")
    for resource in api.all_resources:
        assert f"### `client.{resource.attribute}`" in text
        for operation in resource.operations:
            assert f"#### `client.{resource.attribute}.{operation.method_name}()`" in text
            section = text.split(f"#### `client.{resource.attribute}.{operation.method_name}()`", 1)[1].split("####", 1)[0]
            for param in operation.all_params:
                assert f"| `{param.name}` |" in section, param.name
    for model in ("Completion", "CompletionChoice", "CompletionUsage", "StreamOptions", "ErrorResponse"):
        assert f"### `{model}`" in text
    # Fields are read from the emitted models: Completion's, with the required ones marked.
    completion = text.split("### `Completion`", 1)[1].split("###", 1)[0]
    assert "| `id` | `str` | yes |" in completion
    assert "| `usage` | `CompletionUsage \\| None` | no |" in completion


# -- other specs: path parameters, query parameters, no examples at all, streams without a switch


@contextlib.contextmanager
def imported_from(directory: Path, package: str) -> Iterator[None]:
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


def generic_server(request: Recorded) -> Reply:
    if request.path.startswith("/events"):
        return Reply(chunks=sse({"id": 1, "name": "first"}, done=False))
    if request.method == "DELETE":
        return Reply(204)
    if request.path.startswith("/items/"):
        return Reply(body={"id": 7, "name": "seven"})
    return Reply(body={"data": [{"id": 1, "name": "first"}], "next_cursor": None})


def test_examples_made_from_schemas_run_too(server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The listing spec has no examples: calls are made up from the schemas (path parameters
    positional, required arguments only) and still run."""
    config = load_config(GOLDEN / "listing" / "sdkforge.toml").replace(spec="openapi.yaml", base_url_env="LISTING_BASE_URL")
    write_tree(tmp_path / "out", generate(GOLDEN / "listing" / "openapi.yaml", config))
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "with values made up from the API description's schemas" in readme  # not the spec's examples
    monkeypatch.setenv("LISTING_API_KEY", "key-1")
    monkeypatch.setenv("LISTING_BASE_URL", server.base_url)
    answer_with(server, generic_server)
    with imported_from(tmp_path / "out", "listing"):
        results = run_blocks(python_blocks(readme), {"__name__": "readme"}, server)
    called = {(r.method, r.path.split("?")[0]) for _, requests, _ in results for r in requests}
    assert {("GET", "/items"), ("GET", "/items/0"), ("DELETE", "/items/0"), ("GET", "/events")} <= called
    assert all(r.headers["x-api-key"] == "key-1" for _, requests, _ in results for r in requests)


def test_every_golden_readme_block_is_valid_python(tmp_path: Path) -> None:
    for case in sorted(p.name for p in GOLDEN.iterdir() if (p / "openapi.yaml").is_file()):
        config = load_config(GOLDEN / case / "sdkforge.toml").replace(spec="openapi.yaml")
        files = generate(GOLDEN / case / "openapi.yaml", config)
        blocks = python_blocks(files[next(p for p in files if str(p) == "README.md")])
        assert blocks, case
        for block in blocks:
            ast.parse(block)


# -- examples from spec values: literals, never code ------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_python_literal_round_trips_every_json_value(value: Any) -> None:
    source = python_literal(value)
    assert ast.literal_eval(source) == value
    assert "\n" not in source  # one line: it cannot end a statement or a comment


def test_python_literal_refuses_what_has_no_literal() -> None:
    for bad in (float("inf"), float("nan"), {1: "a"}, object()):
        with pytest.raises(NotALiteral):
            python_literal(bad)
    hostile = '"); import os; os.system("echo pwned") #'
    assert ast.literal_eval(python_literal({"prompt": hostile})) == {"prompt": hostile}


def test_spec_text_in_examples_stays_data(tmp_path: Path) -> None:
    hostile = "x\"\"\"\n'''); import os #\u2028"
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": {"/run": {"post": {
            "operationId": "run",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
                "examples": {"evil": {"value": {"text": hostile}}},
            }}},
            "responses": {"204": {"description": "ok"}},
        }}},
    }
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    files = generate(path, Config(spec="openapi.json", package="t", client_class="T"))
    readme = next(text for p, text in files.items() if str(p) == "README.md")
    calls = [b for b in python_blocks(readme) if "client.run.create" in b]  # POST /run -> client.run.create
    assert calls
    for block in calls:
        tree = ast.parse(block)
        call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.keywords and ast.unparse(n.func).endswith(".run.create"))
        assert ast.literal_eval(call.keywords[0].value) == hostile
        assert "import os" not in {ast.unparse(n) for n in tree.body}


def test_package_versions_are_pep_440() -> None:
    assert package_version("2.3.0") == "2.3.0"
    assert package_version("1.0rc1") == "1.0rc1"
    assert package_version("2024-10-21") == "2024.10.21"
    assert package_version("v1") == "1"
    assert package_version("2023-10-01-preview") == "2023.10.1"
    assert package_version("latest") == "0.0.0"
