"""Contract tests: the generated clients against Prism (`prism mock`, pinned in package.json).

Prism reads the same spec the generator read, checks every request it receives against it
(path, query, headers, body, security) and answers with the spec's example response (or one it
builds from the schema). So these tests check what no test of ours can check on its own: that
what the generated client *sends* is what the spec asks for, judged by an independent tool, and
that what a spec-conforming server *returns* parses into the declared types (responses are parsed
with ``strict_response_validation=True``).

Prism's limits (see docs/corpus.md): it does not mock streams (SSE, NDJSON), so ``stream=True``
is not called here (tests/test_client_e2e.py and tests/runtime cover streaming against our own
server); and its request validation lets some invalid bodies through (nullable + oneOf without a
type), which our own server tests cover.

Prism is started once per spec (module scope) on a free port of 127.0.0.1 and stopped after.
Without node_modules (run `make setup`) the tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

from generator.config import Config
from generator.load import load_spec
from generator.lower import lower
from generator.pipeline import generate
from generator.refs import canonical_refs
from generator.write import write_tree
from tests.support.prism import (
    Call,
    Exchange,
    PrismMock,
    Recorder,
    conforms,
    declared_return,
    plan_calls,
    prism_executable,
    prism_view,
)

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(os.environ.get("SDKFORGE_SPECS", ROOT.parent / "shared" / "specs"))
SECRET = "user:sample-secret"  # any scheme's credential: bearer, API key, or basic "user:password"


# --- spec/ and the committed generated/openai_client ----------------------------------------------


@pytest.fixture(scope="module")
def openai_prism() -> Iterator[PrismMock]:
    prism_executable()
    prism = PrismMock(ROOT / "spec" / "openapi.yaml")
    try:
        yield prism.wait_until_listening()
    finally:
        prism.stop()


PROMPTS: list[Any] = ["Say this is a test.", ["a", "b"], [1, 2, 3], [[1, 2], [3]]]


def completion_arguments(prompt: Any) -> dict[str, Any]:
    return {
        "model": "gpt-3.5-turbo-instruct", "prompt": prompt, "max_tokens": 7, "temperature": 0, "top_p": 1,
        "n": 1, "stop": ["\n"], "logit_bias": {"50256": -100}, "suffix": None, "user": "user-1234",
        "stream": False,
    }


def assert_accepted(recorder: Recorder, calls: int) -> None:
    assert len(recorder.exchanges) == calls, [e.describe() for e in recorder.exchanges]
    rejected = [e.describe() for e in recorder.exchanges if e.rejected]
    assert not rejected, "Prism rejected requests:\n" + "\n".join(rejected)


def test_completions_create_sync_passes_prism(openai_prism: PrismMock) -> None:
    from openai_client import OpenAI
    from openai_client.types import Completion

    recorder = Recorder()
    with OpenAI(api_key="sk-test", base_url=openai_prism.base_url, http_client=recorder.sync_client(),
                max_retries=0, strict_response_validation=True) as client:
        for prompt in PROMPTS:
            completion = client.completions.create(**completion_arguments(prompt))
            assert isinstance(completion, Completion)
            assert completion.choices and completion.choices[0].finish_reason == "length"
    recorder.close()
    assert_accepted(recorder, len(PROMPTS))
    assert recorder.exchanges[0].request_headers["authorization"] == "Bearer sk-test"


def test_completions_create_async_passes_prism(openai_prism: PrismMock) -> None:
    from openai_client import AsyncOpenAI
    from openai_client.types import Completion

    recorder = Recorder()

    async def main() -> list[Any]:
        async with AsyncOpenAI(api_key="sk-test", base_url=openai_prism.base_url, http_client=recorder.async_client(),
                               max_retries=0, strict_response_validation=True) as client:
            completions = [await client.completions.create(**completion_arguments(prompt)) for prompt in PROMPTS]
        await recorder.aclose()
        return completions

    for completion in asyncio.run(main()):
        assert isinstance(completion, Completion)
    assert_accepted(recorder, len(PROMPTS))


def test_prism_rejects_what_the_spec_forbids(openai_prism: PrismMock) -> None:
    """The harness can fail: a body the spec forbids (sent through extra_body) is refused, and
    the refusal reaches the caller as the SDK's error, with Prism's violation recorded."""
    from openai_client import APIStatusError, OpenAI

    recorder = Recorder()
    with OpenAI(api_key="sk-test", base_url=openai_prism.base_url, http_client=recorder.sync_client(),
                max_retries=0) as client:
        with pytest.raises(APIStatusError) as raised:
            client.completions.create(model="m", prompt="x", extra_body={"temperature": "hot"})
    recorder.close()
    assert 400 <= raised.value.status_code < 500
    (exchange,) = recorder.exchanges
    assert any(v["location"][-1] == "temperature" for v in exchange.request_violations), exchange.describe()


# --- corpus specs: generated into a temp dir, every operation Prism can serve --------------------

# Calls that fail for a reason the generator does not handle yet: each must still fail (a call
# that starts passing fails the test until its entry is removed), and the test then reports xfail.
# Each entry: (spec, "METHOD /path") -> (text the failure must contain, why).
KNOWN_GAPS: dict[tuple[str, str], tuple[str, str]] = {
    ("tictactoe-3.1", "GET /board/{row}/{column}"): (
        "AuthenticationError: Error code: 401",
        "needs bearer or OAuth2 (operation-level security); the client sends only the spec's first scheme, "
        "the api-key header",
    ),
    ("tictactoe-3.1", "PUT /board/{row}/{column}"): (
        "AuthenticationError: Error code: 401",
        "needs bearer or OAuth2 (operation-level security); the client sends only the spec's first scheme, "
        "the api-key header",
    ),
    ("ory-kratos", "POST /self-service/settings"): (
        "AuthenticationError: Error code: 401",
        "the operation's security names `sessionToken`, which components.securitySchemes does not define "
        "(a spec error); Prism refuses every request",
    ),
}

CORPUS: list[Any] = [
    pytest.param("petstore-3.0", id="petstore-3.0"),
    pytest.param("petstore-3.1", id="petstore-3.1"),
    pytest.param("tictactoe-3.1", id="tictactoe-3.1"),
    pytest.param("ollama", id="ollama"),
    pytest.param("hf-tgi", id="hf-tgi"),
    pytest.param("ory-kratos", id="ory-kratos", marks=pytest.mark.slow),
    pytest.param("qdrant", id="qdrant", marks=pytest.mark.slow),
]


@dataclasses.dataclass
class Generated:
    name: str
    module: Any
    prism: PrismMock
    calls: list[Call]

    def client_settings(self, recorder: Recorder, is_async: bool) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "base_url": self.prism.base_url, "max_retries": 0, "strict_response_validation": True,
            "http_client": recorder.async_client() if is_async else recorder.sync_client(),
        }
        if "api_key" in inspect.signature(self.module.Client).parameters:
            settings["api_key"] = SECRET
        return settings


@pytest.fixture(scope="module", params=CORPUS)
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    name: str = request.param
    found = sorted((SPECS / name).glob("openapi.*"))
    if not found:
        pytest.skip(f"{SPECS / name} is not here")
    spec = found[0]
    prism_executable()
    package = "prism_" + name.replace("-", "_").replace(".", "") + "_client"
    out = tmp_path_factory.mktemp(package)
    prism = PrismMock(prism_view(spec, tmp_path_factory.mktemp("prism-spec")))  # loads while we generate
    try:
        config = Config(spec=spec.name, package=package, client_class="Client", api_key_env="PRISM_TEST_KEY")
        write_tree(out, generate(spec, config))
        loaded = load_spec(spec, label=spec.name)
        api = lower(dataclasses.replace(loaded, document=canonical_refs(loaded.document)[0]), config)
        calls = plan_calls(api, loaded.document)
        sys.path.insert(0, str(out))
        module = importlib.import_module(package)
        yield Generated(name, module, prism.wait_until_listening(), calls)
    finally:
        prism.stop()
        if str(out) in sys.path:
            sys.path.remove(str(out))
        for loaded_name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[loaded_name]


@dataclasses.dataclass
class Outcome:
    call: Call
    problems: list[str]  # empty: the call passed
    note: str = ""  # Prism's example response broke the spec; parsed leniently instead


def validation_detail(error: BaseException) -> str:
    cause = error.__cause__
    if not isinstance(cause, pydantic.ValidationError):
        return ""
    return " [" + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']} {str(e.get('input'))[:40]!r}"
                            for e in cause.errors()[:5]) + "]"


class Runner:
    """Calls every planned operation once through a strict client and judges each call.

    A 2xx body that fails strict validation is a failure, unless Prism itself reported that
    its (example) response breaks the spec (``sl-violations`` on the response): then the call
    is made again through a lenient client, which must still return the declared type."""

    def __init__(self, generated: Generated) -> None:
        self.generated = generated
        self.recorder = Recorder()
        self.outcomes: list[Outcome] = []

    def client(self, is_async: bool, strict: bool) -> Any:
        settings = self.generated.client_settings(self.recorder, is_async)
        settings["strict_response_validation"] = strict
        return (self.generated.module.AsyncClient if is_async else self.generated.module.Client)(**settings)

    def judge(self, call: Call, method: Any, before: int, result: Any, errors: list[BaseException]) -> None:
        exchanges = self.recorder.exchanges[before:]
        problems = [e.describe() for e in exchanges if e.rejected]
        note = ""
        if errors and self.prism_broke_its_response(errors[0], exchanges):
            note = f"{call.label}: {exchanges[0].response_violations[0]['message']}"
            errors, exchanges = errors[1:], exchanges[1:]
        if errors:
            problems.insert(0, f"{type(errors[0]).__name__}: {str(errors[0])[:800]}{validation_detail(errors[0])}")
        elif not conforms(result, expected := declared_return(method)):
            problems.append(f"returned {type(result).__name__}, declared {expected}")
        if len(exchanges) != 1:
            problems.append(f"{len(exchanges)} requests, expected exactly one")
        if exchanges and call.body_properties is not None:
            sent = json.loads(exchanges[0].request_body or b"null")
            unknown = sorted(set(sent) - call.body_properties) if isinstance(sent, dict) else []
            if unknown:
                problems.append(f"sent body properties the spec does not declare: {unknown}")
        self.outcomes.append(Outcome(call, problems, note))

    def prism_broke_its_response(self, error: BaseException, exchanges: list[Exchange]) -> bool:
        return (isinstance(error, self.generated.module.APIResponseValidationError)
                and bool(exchanges) and bool(exchanges[0].response_violations))

    def run_sync(self) -> list[Outcome]:
        with self.client(False, strict=True) as strict, self.client(False, strict=False) as lenient:
            for call in (c for c in self.generated.calls if not c.skip):
                before, method = len(self.recorder.exchanges), call.method(strict)
                errors: list[BaseException] = []
                result = None
                try:
                    result = method(*call.args, **call.kwargs)
                except Exception as error:  # noqa: BLE001 - every failure is reported at the end
                    errors.append(error)
                    if self.prism_broke_its_response(error, self.recorder.exchanges[before:]):
                        try:
                            result = call.method(lenient)(*call.args, **call.kwargs)
                        except Exception as again:  # noqa: BLE001
                            errors.append(again)
                self.judge(call, method, before, result, errors)
        self.recorder.close()
        return self.outcomes

    def run_async(self) -> list[Outcome]:
        async def main() -> None:
            async with self.client(True, strict=True) as strict, self.client(True, strict=False) as lenient:
                for call in (c for c in self.generated.calls if not c.skip):
                    before, method = len(self.recorder.exchanges), call.method(strict)
                    errors: list[BaseException] = []
                    result = None
                    try:
                        result = await method(*call.args, **call.kwargs)
                    except Exception as error:  # noqa: BLE001
                        errors.append(error)
                        if self.prism_broke_its_response(error, self.recorder.exchanges[before:]):
                            try:
                                result = await call.method(lenient)(*call.args, **call.kwargs)
                            except Exception as again:  # noqa: BLE001
                                errors.append(again)
                    self.judge(call, method, before, result, errors)
            await self.recorder.aclose()

        asyncio.run(main())
        return self.outcomes


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_every_operation_passes_prism_and_parses(generated: Generated, is_async: bool) -> None:
    runner = Runner(generated)
    outcomes = runner.run_async() if is_async else runner.run_sync()
    assert outcomes, "at least one operation was called"
    for outcome in outcomes:
        if outcome.note:
            print("Prism's response broke the spec, parsed leniently:", outcome.note)
    known = {label: gap for (spec, label), gap in KNOWN_GAPS.items() if spec == generated.name}
    failed = [o for o in outcomes if o.problems and not (
        o.call.label in known and known[o.call.label][0] in o.problems[0])]
    assert not failed, f"{generated.name}: {len(failed)} of {len(outcomes)} calls failed:\n" + "\n".join(
        f"{o.call.label} ({'.'.join(o.call.attributes)}{o.call.args}, {o.call.kwargs}):\n    " + "\n    ".join(o.problems)
        for o in failed
    )
    fixed = [o.call.label for o in outcomes if o.call.label in known and not o.problems]
    assert not fixed, f"these now pass: remove them from KNOWN_GAPS: {fixed}"
    skipped = {c.label: c.skip for c in generated.calls if c.skip}
    assert all("stream" in reason or "binary" in reason for reason in skipped.values()), json.dumps(skipped)
    if known:
        pytest.xfail(f"{len(outcomes) - len(known)} of {len(outcomes)} calls pass; known gaps: "
                     + "; ".join(f"{label}: {reason}" for label, (_, reason) in known.items()))


# (spec, "METHOD /path") -> arguments the spec requires that the signature lets callers leave out
SIGNATURE_GAPS: dict[tuple[str, str], tuple[str, ...]] = {
    # 3.1 keywords beside a $ref are ignored: `required: [id]` next to `$ref: Pet` in the body
    ("petstore-3.1", "PUT /pet"): ("id",),
    ("petstore-3.1", "POST /pet"): ("id",),
}


def test_signatures_require_what_the_spec_requires(generated: Generated) -> None:
    """No default for an argument the spec requires: a caller who leaves it out would only
    learn from the server's 4xx (Prism refuses such calls)."""
    recorder = Recorder()
    client = generated.module.Client(**generated.client_settings(recorder, False))
    optional: dict[str, tuple[str, ...]] = {}
    for call in generated.calls:
        parameters = inspect.signature(call.method(client)).parameters
        loose = tuple(n for n in call.spec_required if parameters[n].default is not inspect.Parameter.empty)
        if loose:
            optional[call.label] = loose
    client.close()
    recorder.close()
    expected = {label: names for (spec, label), names in SIGNATURE_GAPS.items() if spec == generated.name}
    assert optional == expected


def test_prism_checks_request_bodies_of_this_spec(generated: Generated) -> None:
    """The contract is not vacuous: for a JSON body with required fields, an empty object is
    refused with a violation located in the request body (see prism_view for the case where
    Prism would silently let everything through)."""
    canaries = [c for c in generated.calls if c.canary]
    if not canaries:
        pytest.skip(f"{generated.name} has no JSON body with required fields")
    recorder = Recorder()
    with generated.module.Client(**generated.client_settings(recorder, False)) as client:
        with pytest.raises(generated.module.APIStatusError):
            client.request(canaries[0].http_method, canaries[0].path, cast_to=object, body={})
    recorder.close()
    (exchange,) = recorder.exchanges
    assert 400 <= exchange.status < 500 and any(
        v["location"][:2] == ["request", "body"] for v in exchange.request_violations), exchange.describe()
