"""The emitted openai_client against a real HTTP server on 127.0.0.1: what goes over the wire
and what comes back, sync and async, streaming and not."""

from __future__ import annotations

import asyncio
import json

import pytest

from openai_client import AsyncOpenAI, AsyncStream, OpenAI, SDKError, Stream
from openai_client.types import Completion
from tests.support.server import Reply, ScriptedServer, sse

COMPLETION = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def chunk(text: str, finish_reason: str | None = None) -> dict[str, object]:
    return {
        "id": "cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe",
        "object": "text_completion",
        "created": 1690759702,
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
        "model": "gpt-3.5-turbo-instruct",
        "system_fingerprint": "fp_44709d6fcb",
    }


@pytest.fixture
def client(server: ScriptedServer) -> OpenAI:
    return OpenAI(api_key="sk-test-123", base_url=server.base_url, max_retries=0)


def test_create_sends_exact_json_and_parses_completion(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION, headers={"x-request-id": "req_1"}))
    completion = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say this is a test.", max_tokens=7, temperature=0
    )
    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/completions"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test.", "max_tokens": 7, "temperature": 0}
    assert isinstance(completion, Completion)
    assert completion.choices[0].text == "\n\nThis is indeed a test"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.total_tokens == 12
    assert completion.request_id == "req_1"


def test_omitted_arguments_are_not_sent_and_none_is_sent_as_null(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))
    client.completions.create(model="m", prompt=None, suffix=None, stop=["\n"], logit_bias={"50256": -100},
                              stream_options={"include_usage": True})
    sent = json.loads(server.requests[0].body)
    assert sent == {"model": "m", "prompt": None, "suffix": None, "stop": ["\n"], "logit_bias": {"50256": -100},
                    "stream_options": {"include_usage": True}}
    assert "max_tokens" not in sent and "stream" not in sent


def test_prompt_union_accepts_every_shape(client: OpenAI, server: ScriptedServer) -> None:
    prompts: list[object] = ["a", ["a", "b"], [1, 2, 3], [[1, 2], [3]]]
    for prompt in prompts:
        server.reply(Reply(body=COMPLETION))
        client.completions.create(model="m", prompt=prompt)  # type: ignore[arg-type]
    assert [json.loads(r.body)["prompt"] for r in server.requests] == prompts


def test_stream_true_yields_typed_chunks_until_done(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(chunks=sse(chunk("This"), chunk(" is"), chunk(" a test", "stop"))))
    stream = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this", stream=True)
    assert isinstance(stream, Stream)
    chunks = list(stream)
    assert [c.choices[0].text for c in chunks] == ["This", " is", " a test"]
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, "stop"]
    assert all(isinstance(c, Completion) for c in chunks)
    assert json.loads(server.requests[0].body)["stream"] is True
    assert server.requests[0].headers["accept"] == "text/event-stream"
    assert stream.response.is_closed


def test_stream_false_returns_completion(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION))
    completion = client.completions.create(model="m", prompt="p", stream=False)
    assert isinstance(completion, Completion)
    assert json.loads(server.requests[0].body)["stream"] is False


def test_unknown_response_fields_are_kept(client: OpenAI, server: ScriptedServer) -> None:
    server.reply(Reply(body={**COMPLETION, "brand_new_field": {"x": 1}}))
    completion = client.completions.create(model="m", prompt="p")
    assert completion.model_extra == {"brand_new_field": {"x": 1}}


def test_error_status_raises_typed_error(client: OpenAI, server: ScriptedServer) -> None:
    from openai_client import AuthenticationError

    server.reply(Reply(401, body={"error": {"message": "Incorrect API key", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}))
    with pytest.raises(AuthenticationError) as caught:
        client.completions.create(model="m", prompt="p")
    assert caught.value.status_code == 401
    assert caught.value.message == "Error code: 401 - Incorrect API key"
    assert caught.value.code == "invalid_api_key"
    assert "sk-test-123" not in str(caught.value)


def test_api_key_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch, server: ScriptedServer) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.reply(Reply(body=COMPLETION))
    OpenAI(max_retries=0).completions.create(model="m", prompt="p")
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_default_base_url_is_the_spec_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert str(OpenAI(api_key="k").base_url) == "https://api.openai.com/v1/"


def test_missing_api_key_is_a_clear_error_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SDKError, match="OPENAI_API_KEY"):
        OpenAI()


def test_repr_hides_the_key() -> None:
    assert "sk-secret" not in repr(OpenAI(api_key="sk-secret", base_url="http://127.0.0.1:1"))


def test_async_create_and_stream(server: ScriptedServer) -> None:
    server.reply(Reply(body=COMPLETION), Reply(chunks=sse(chunk("A"), chunk("B", "stop"))))

    async def run() -> tuple[Completion, list[str]]:
        async with AsyncOpenAI(api_key="sk-async", base_url=server.base_url, max_retries=0) as client:
            completion = await client.completions.create(model="m", prompt="p", max_tokens=7)
            stream = await client.completions.create(model="m", prompt="p", stream=True)
            assert isinstance(stream, AsyncStream)
            texts = [c.choices[0].text async for c in stream]
            return completion, texts

    completion, texts = asyncio.run(run())
    assert completion.id == COMPLETION["id"]
    assert texts == ["A", "B"]
    assert [r.json() for r in server.requests] == [
        {"model": "m", "prompt": "p", "max_tokens": 7},
        {"model": "m", "prompt": "p", "stream": True},
    ]
    assert server.requests[0].headers["authorization"] == "Bearer sk-async"


def test_readme_snippet_runs_against_a_local_server(monkeypatch: pytest.MonkeyPatch, server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.reply(Reply(body=COMPLETION), Reply(chunks=sse(chunk("This"), chunk(" is", "stop"))))
    client = OpenAI()
    completion = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say this is a test.", max_tokens=7, temperature=0)
    print(completion.choices[0].text, completion.usage.total_tokens if completion.usage else None)
    for part in client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this", stream=True):
        print(part.choices[0].text, end="")
    assert capsys.readouterr().out == "\n\nThis is indeed a test 12\nThis is"
