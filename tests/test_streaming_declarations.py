"""Every way a spec declares streaming (generator/streaming.py), from spec to typed, working client.

The fixture specs under tests/streaming_specs/ imitate one style each (see its README): prose only
plus pyproject configuration or the x- extension (official OpenAI), NDJSON with a switch that
defaults to true (Ollama), OpenAPI 3.2 itemSchema (SSE envelope, JSON lines, JSON text sequences),
and 3.1 SSE the way Mistral and TGI write it. For each: the IR, the rendered call, mypy --strict
with assert_type on every overload, and the generated client against the test server.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from generator.config import Config, load_config
from generator.errors import ConfigError, SpecError
from generator.ir import Api, Operation, StreamFormat, TypeKind
from generator.load import load_spec
from generator.lower import lower
from generator.pipeline import generate
from generator.streaming import StreamingSetting, parse_settings
from generator.write import write_tree
from tests.support.server import Reply, ScriptedServer, sse

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "tests" / "streaming_specs"
CASES = ("prose", "ndjson", "itemschema", "sse31")
PACKAGES = {"prose": "prose_client", "ndjson": "ndjson_client", "itemschema": "items_client", "sse31": "sse31_client"}


def case_config(case: str) -> Config:
    return load_config(SPECS / case / "sdkforge.toml").replace(spec="openapi.yaml")


def lowered(case: str) -> Api:
    return lower(load_spec(SPECS / case / "openapi.yaml", label="openapi.yaml"), case_config(case))


def operation(api: Api, operation_id: str) -> Operation:
    found = [op for resource in api.all_resources for op in resource.operations if op.operation_id == operation_id]
    assert len(found) == 1, [op.operation_id for r in api.all_resources for op in r.operations]
    return found[0]


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """All four fixture packages generated side by side (and importable) in one directory."""
    out = tmp_path_factory.mktemp("streaming_packages")
    for case in CASES:
        files = generate(SPECS / case / "openapi.yaml", case_config(case))
        write_tree(out / case, files)
        shutil.move(str(out / case / PACKAGES[case]), str(out / PACKAGES[case]))
        shutil.copy(SPECS / case / "check_types.py", out / f"check_{case}.py")
    sys.path.insert(0, str(out))
    try:
        yield out
    finally:
        sys.path.remove(str(out))
        for name in list(sys.modules):
            if name.split(".")[0] in PACKAGES.values():
                del sys.modules[name]


def package(packages: Path, case: str) -> ModuleType:
    return importlib.import_module(PACKAGES[case])


# -- the IR: what each declaration lowers to ----------------------------------------------------


def test_prose_only_operation_configured_in_pyproject() -> None:
    op = operation(lowered("prose"), "createCompletion")
    assert op.stream is not None and op.stream.switch is not None
    assert (op.stream.format, op.stream.event_type.annotation, op.stream.switch.wire_name.text) == (
        StreamFormat.SSE, "CreateCompletionResponse", "stream")
    assert op.stream.terminator is not None and op.stream.terminator.text == "[DONE]"
    assert not op.stream.default_on and op.response_type.annotation == "CreateCompletionResponse"


def test_prose_only_operation_without_configuration_does_not_stream() -> None:
    op = operation(lower(load_spec(SPECS / "prose" / "openapi.yaml"), Config(package="prose_client")), "createCompletion")
    assert op.stream is None


def test_extension_names_its_own_chunk_schema_and_gets_the_sse_terminator_by_default() -> None:
    op = operation(lowered("prose"), "createChatCompletion")
    assert op.stream is not None
    assert op.stream.event_type.annotation == "CreateChatCompletionStreamResponse"
    assert op.response_type.annotation == "CreateChatCompletionResponse"
    assert op.stream.terminator is not None and op.stream.terminator.text == "[DONE]"
    assert op.cast_to == "CreateChatCompletionStreamResponse if stream is True else CreateChatCompletionResponse"


def test_ndjson_switch_defaulting_to_true_streams_when_left_out() -> None:
    api = lowered("ndjson")
    generate_op, pull, events = (operation(api, name) for name in ("generate", "pull", "events"))
    assert generate_op.stream is not None and pull.stream is not None and events.stream is not None
    assert generate_op.stream.format is StreamFormat.NDJSON and generate_op.stream.default_on
    assert generate_op.stream.condition == "stream is not False"
    assert generate_op.stream.event_type.annotation == "GenerateStreamEvent"
    assert generate_op.stream.terminator is None
    assert not pull.stream.default_on and pull.stream.condition == "stream is True"
    assert events.always_streams and events.stream.event_type.annotation == "StatusEvent"


def test_openapi_32_item_schemas() -> None:
    api = lowered("itemschema")
    chat, watch, logs, feed = (operation(api, name) for name in ("chat", "watch", "logs", "feed"))
    assert chat.stream is not None and chat.has_overloads
    # The envelope's data is a JSON string: its contentSchema is the item.
    assert chat.stream.event_type.annotation == "ReplyChunk"
    assert watch.stream is not None and watch.stream.event_type.annotation == "Created | Deleted"
    assert logs.stream is not None and (logs.stream.format, logs.stream.event_type.annotation) == (StreamFormat.NDJSON, "LogLine")
    assert feed.stream is not None and (feed.stream.format, feed.stream.event_type.annotation) == (StreamFormat.JSON_SEQ, "LogLine")
    assert logs.always_streams and feed.always_streams


def test_openapi_31_sse_styles() -> None:
    api = lowered("sse31")
    chat, chat_stream, execution, ticker = (operation(api, name) for name in ("chat", "chat_stream", "execution_events", "ticker"))
    assert chat.stream is None  # JSON only; its "#stream" twin streams
    assert chat_stream.always_streams and chat_stream.stream is not None
    assert chat_stream.stream.event_type.annotation == "ChatChunk" and chat_stream.path.text == "/v1/chat"
    # A schema with event/data/id/retry describes the event; the item is its data.
    assert execution.stream is not None and execution.stream.event_type.annotation == "ExecutionEvent"
    # Text events: items are the text, and no [DONE] guess.
    assert ticker.stream is not None and ticker.stream.event_type.kind is TypeKind.STR and ticker.stream.terminator is None
    # Together's way: data-only envelopes, one of them a fixed string, which is the terminator.
    tokens = operation(api, "tokens")
    assert tokens.stream is not None and tokens.stream.event_type.annotation == "Token"
    assert tokens.stream.terminator is not None and tokens.stream.terminator.text == "[END]"


def test_rendered_calls_pick_the_item_type_and_streaming_from_the_switch() -> None:
    files = generate(SPECS / "ndjson" / "openapi.yaml", case_config("ndjson"))
    source = next(text for path, text in files.items() if path.name == "generate.py")
    assert "cast_to=GenerateStreamEvent if stream is not False else GenerateResponse" in source
    assert "stream=stream is not False" in source and 'stream_format="ndjson"' in source
    # The overload without stream= returns the stream; stream=False must be spelled.
    assert "stream: Literal[True] | NotGiven = NOT_GIVEN" in source and "stream: Literal[False],\n" in source


# -- configuration and problems --------------------------------------------------------------------


def write(tmp_path: Path, toml: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def test_streaming_table_is_read_into_a_frozen_hashable_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
[tool.sdkforge]
package = "x"
[tool.sdkforge.streaming."post /completions"]
param = "stream"
event_schema = "Chunk"
terminator = ""
format = "application/x-ndjson"
default = true
[tool.sdkforge.streaming.createThing]
enabled = false
"""))
    assert config.streaming == (
        StreamingSetting("POST /completions", param="stream", event_schema="#/components/schemas/Chunk", terminator="",
                         format=StreamFormat.NDJSON, default=True),
        StreamingSetting("createThing", enabled=False),
    )
    assert hash(config) == hash(config.replace())


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.sdkforge.streaming."POST /x"]\nparm = "stream"', "unknown key 'parm'"),
        ('[tool.sdkforge.streaming."POST /x"]\nformat = "xml"', "unknown format 'xml'"),
        ('[tool.sdkforge.streaming."POST /x"]\ndefault = "yes"', "default must be true or false"),
        ('[tool.sdkforge.streaming."POST /x"]\nparam = 1', "param must be a string"),
        ('[tool.sdkforge.streaming."FETCH /x"]\nparam = "s"', "name the operation as 'METHOD /path'"),
        ('[tool.sdkforge.streaming."POST x"]\nparam = "s"', "name the operation as 'METHOD /path'"),
        ('[tool.sdkforge]\nstreaming = "yes"', "must be a table of operations"),
        ('[tool.sdkforge.streaming]\n"POST /x" = 1', "must be a table of settings"),
    ],
)
def test_bad_streaming_tables_are_clear_errors(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, table))


def test_parse_settings_names_the_table_in_errors() -> None:
    with pytest.raises(ConfigError, match=r'pyproject.toml: \[tool.sdkforge.streaming."POST /x"\]: unknown key'):
        parse_settings({"POST /x": {"bogus": 1}}, "pyproject.toml")


def test_configuring_an_operation_the_spec_lacks_is_an_error() -> None:
    config = case_config("prose").replace(streaming=(StreamingSetting("POST /complete", param="stream"),))
    with pytest.raises(ConfigError, match="'POST /complete', which openapi.yaml does not have"):
        generate(SPECS / "prose" / "openapi.yaml", config)


def spec_with(tmp_path: Path, extension: dict[str, Any], stream_type: str = "boolean") -> Path:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/run": {"post": {
            "operationId": "run",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"stream": {"type": stream_type}, "go": {"type": "string"}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Out"}}}}},
            "x-sdkforge-streaming": extension,
        }}},
        "components": {"schemas": {"Out": {"type": "object", "properties": {"n": {"type": "integer"}}}}},
    }
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extension", "stream_type", "pointer", "message"),
    [
        ({"param": "go"}, "boolean", "#/paths/~1run/post/x-sdkforge-streaming/param", "'go' is str, not a boolean"),
        ({"param": "nope"}, "boolean", "#/paths/~1run/post/x-sdkforge-streaming/param", "no request body field 'nope'"),
        ({"event-schema": "#/components/schemas/Missing"}, "boolean", "#/paths/~1run/post/x-sdkforge-streaming/event-schema", "points nowhere"),
        ({"terminater": "[DONE]"}, "boolean", "#/paths/~1run/post/x-sdkforge-streaming/terminater", "unknown key 'terminater'"),
        ({}, "string", "#/paths/~1run/post/x-sdkforge-streaming", "which field switches streaming on"),
    ],
)
def test_bad_extensions_point_at_the_problem(tmp_path: Path, extension: dict[str, Any], stream_type: str, pointer: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        generate(spec_with(tmp_path, extension, stream_type), Config(package="run_client", spec="openapi.json"))
    assert any(p.pointer == pointer and message in p.message for p in caught.value.problems), caught.value


def test_configuration_wins_over_the_extension_and_can_turn_streaming_off(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, {"param": "stream", "terminator": "END"})
    base = Config(package="run_client", spec="openapi.json")
    op = operation(lower(load_spec(spec), base), "run")
    assert op.stream is not None and op.stream.terminator is not None and op.stream.terminator.text == "END"
    assert op.stream.event_type.annotation == "Out"  # prose only: the stream repeats the response object
    op = operation(lower(load_spec(spec), base.replace(streaming=(StreamingSetting("run", terminator="", format=StreamFormat.NDJSON),))), "run")
    assert op.stream is not None and op.stream.terminator is None and op.stream.format is StreamFormat.NDJSON
    assert operation(lower(load_spec(spec), base.replace(streaming=(StreamingSetting("POST /run", enabled=False),))), "run").stream is None


# -- types: mypy --strict with assert_type on every overload --------------------------------------


def test_fixture_packages_and_their_overload_types_pass_mypy_strict(packages: Path) -> None:
    probe = packages / "probe_wrong.py"
    probe.write_text(
        "from typing_extensions import assert_type\n"
        "from ndjson_client import Llama, Stream\n"
        "from ndjson_client.types import GenerateResponse, GenerateStreamEvent\n"
        "def f(c: Llama) -> None:\n"
        "    assert_type(c.generate.create(model='m'), GenerateResponse)\n"
        "    assert_type(c.generate.create(model='m', stream=False), Stream[GenerateStreamEvent])\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", "3.10",
         "--cache-dir", str(packages / ".mypy_cache"),
         *PACKAGES.values(), *(f"check_{case}.py" for case in CASES), probe.name],
        cwd=packages, capture_output=True, text=True, check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    # The only errors are the probe's two wrong expectations: the checks can fail, and the rest pass.
    assert len(errors) == 2 and all(line.startswith("probe_wrong.py:") and "[assert-type]" in line for line in errors), result.stdout


# -- behaviour: the generated clients against the test server -------------------------------------


def ndjson(*items: Any) -> list[bytes | float]:
    return [json.dumps(item).encode() + b"\n" for item in items]


def test_ndjson_default_on_streams_without_the_switch_and_parses_json_with_it_off(packages: Path, server: ScriptedServer) -> None:
    module = package(packages, "ndjson")
    types = importlib.import_module("ndjson_client.types")
    client = module.Llama(base_url=server.base_url, max_retries=0)
    server.reply(
        Reply(chunks=ndjson({"model": "m", "response": "Hel", "done": False}, {"model": "m", "response": "lo", "done": True, "x": 1}),
              headers={"content-type": "application/x-ndjson"}),
        Reply(body={"model": "m", "response": "Hello", "done": True, "eval_count": 2}),
    )
    events = list(client.generate.create(model="m", prompt="hi"))
    assert [type(e) for e in events] == [types.GenerateStreamEvent] * 2
    assert "".join(e.response for e in events) == "Hello" and events[1].model_extra == {"x": 1}
    assert "stream" not in server.requests[0].json()  # left out: the server's default (true) applies
    whole = client.generate.create(model="m", prompt="hi", stream=False)
    assert isinstance(whole, types.GenerateResponse) and whole.eval_count == 2
    assert server.requests[1].json()["stream"] is False


def test_ndjson_error_line_raises_with_the_servers_message(packages: Path, server: ScriptedServer) -> None:
    module = package(packages, "ndjson")
    client = module.Llama(base_url=server.base_url, max_retries=0)
    server.reply(Reply(chunks=ndjson({"status": "pulling"}, {"error": "model 'x' not found"}), headers={"content-type": "application/x-ndjson"}))
    stream = client.pull.create(model="x", stream=True)
    assert next(stream).status == "pulling"
    with pytest.raises(module.APIError, match="model 'x' not found"):
        next(stream)
    assert stream.response.is_closed


def test_prose_configured_stream_ends_at_done(packages: Path, server: ScriptedServer) -> None:
    module = package(packages, "prose")
    types = importlib.import_module("prose_client.types")
    chunk = {"id": "c", "object": "text_completion", "created": 1, "model": "m",
             "choices": [{"text": "hi", "index": 0, "finish_reason": None}]}
    server.reply(Reply(chunks=sse(chunk, chunk) + sse({"never": "yielded"}, done=False)))
    client = module.Prose(api_key="k", base_url=server.base_url, max_retries=0)
    chunks = list(client.completions.create(model="m", prompt="p", stream=True))
    assert len(chunks) == 2 and all(isinstance(c, types.CreateCompletionResponse) for c in chunks)
    assert chunks[0].choices[0].finish_reason is None
    assert server.requests[0].json() == {"model": "m", "prompt": "p", "stream": True}


def test_openapi_32_sse_envelope_and_event_union(packages: Path, server: ScriptedServer) -> None:
    module = package(packages, "itemschema")
    types = importlib.import_module("items_client.types")
    client = module.Items(base_url=server.base_url, max_retries=0)
    server.reply(
        Reply(chunks=sse({"delta": "a"}, {"delta": "b"})),
        Reply(chunks=[b"event: created\ndata: {\"id\": 1, \"name\": \"x\"}\n\n",
                      b"event: deleted\ndata: {\"id\": 1, \"deleted\": true}\n\n"]),
    )
    assert [c.delta for c in client.chat.create(message="hi", stream=True)] == ["a", "b"]
    created, deleted = list(client.watch.retrieve())
    assert isinstance(created, types.Created) and created.name == "x"
    assert isinstance(deleted, types.Deleted) and deleted.deleted is True


def test_openapi_32_json_lines_and_json_text_sequences(packages: Path, server: ScriptedServer) -> None:
    module = package(packages, "itemschema")
    types = importlib.import_module("items_client.types")
    client = module.Items(base_url=server.base_url, max_retries=0)
    server.reply(
        # CRLF, a blank line, a line cut across chunks, a last line without its newline.
        Reply(chunks=[b'{"level": "info", "message": "a"}\r\n\r\n{"level": "deb', b'ug", "message": "b"}\n', b'{"level": "error", "message": "c"}'],
              headers={"content-type": "application/jsonl"}),
        Reply(chunks=[b'\x1e{"level": "info", "message": "a"}\n\x1e{"level":', b' "debug",\n "message": "b"}\n', b'\x1e{"level": "error", "message": "c"}\n'],
              headers={"content-type": "application/json-seq"}),
    )
    lines = list(client.logs.list())
    assert [(line.level, line.message) for line in lines] == [("info", "a"), ("debug", "b"), ("error", "c")]
    records = list(client.feed.retrieve())
    assert all(isinstance(r, types.LogLine) for r in records)
    assert [(r.level, r.message) for r in records] == [("info", "a"), ("debug", "b"), ("error", "c")]


def test_openapi_31_text_events_and_stream_twins(packages: Path, server: ScriptedServer) -> None:
    module = package(packages, "sse31")
    server.reply(
        Reply(chunks=[b"data: 101.5\n\n", b": keep-alive\n\n", b"data: [DONE]\n\n", b"data: line one\ndata: line two\n\n"]),
        Reply(chunks=sse({"delta": "x"})),
    )
    client = module.Sse(base_url=server.base_url, max_retries=0)
    # Text items are the text; "[DONE]" is just text here (no terminator for a text stream).
    assert list(client.ticker.retrieve()) == ["101.5", "[DONE]", "line one\nline two"]
    assert [c.delta for c in client.chat.chat_stream(prompt="p")] == ["x"]
    assert server.requests[1].path == "/v1/chat"
    server.reply(Reply(chunks=[b'data: {"text": "a"}\n\n', b"data: [DONE]\n\n", b"data: [END]\n\n", b'data: {"text": "late"}\n\n']))
    with pytest.raises(module.APIResponseValidationError):  # "[DONE]" is no end marker here: the spec says "[END]"
        list(client.tokens.list())
    server.reply(Reply(chunks=[b'data: {"text": "a"}\n\n', b"data: [END]\n\n", b'data: {"text": "late"}\n\n']))
    assert [t.text for t in client.tokens.list()] == ["a"]


def test_async_ndjson_default_on(packages: Path, server: ScriptedServer) -> None:
    module = package(packages, "ndjson")
    server.reply(Reply(chunks=ndjson({"status": "a"}, {"status": "b"}), headers={"content-type": "application/x-ndjson"}))

    async def run() -> list[str]:
        async with module.AsyncLlama(base_url=server.base_url, max_retries=0) as client:
            stream = await client.generate.create(model="m")
            assert isinstance(stream, module.AsyncStream)
            return [event.model_extra["status"] async for event in stream]

    assert asyncio.run(run()) == ["a", "b"]
