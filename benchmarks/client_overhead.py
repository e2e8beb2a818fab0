"""Per-request overhead of the emitted client versus bare httpx (not a test).

Three ways of making the same POST /completions and getting a result back, each measured with
the same httpx transport:

* ``httpx+json``     bare ``httpx.Client.post(json=...)`` then ``response.json()``;
* ``httpx+model``    the same, then ``Completion.model_validate_json`` (the parsing any typed
                     client has to do);
* ``openai_client``  ``OpenAI(...).completions.create(...)`` (headers, options, retry loop,
                     status check, parsing into ``Completion``).

Two transports: an in-process ``httpx.MockTransport`` (no network: the client's own cost is
all there is, the harshest ratio) and a real HTTP server on 127.0.0.1 (tests/support/server.py).
The target is ``openai_client / httpx+model <= 1.15`` on the real server. Prints the median of
5 runs of N requests. Run from the repository root:

    .venv/bin/python benchmarks/client_overhead.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "generated")]

import httpx  # noqa: E402

from openai_client import OpenAI  # noqa: E402
from openai_client.types import Completion  # noqa: E402
from tests.support.server import Reply, ScriptedServer  # noqa: E402

COMPLETION = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}
PAYLOAD = json.dumps(COMPLETION).encode()
BODY = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test.", "max_tokens": 7, "temperature": 0}
HEADERS = {"Authorization": "Bearer sk-bench", "Accept": "application/json"}


def timed(call: Callable[[], object], n: int) -> float:
    for _ in range(min(n, 200)):  # warm up (pools, caches, validators)
        call()
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            call()
        runs.append((time.perf_counter() - started) / n)
    return statistics.median(runs)


def measure(label: str, base_url: str, make_transport: Callable[[], httpx.BaseTransport], n: int) -> None:
    bare = httpx.Client(transport=make_transport(), headers=HEADERS)
    url = base_url + "/completions"

    def httpx_json() -> object:
        response = bare.post(url, json=BODY)
        response.raise_for_status()
        return response.json()

    def httpx_model() -> object:
        response = bare.post(url, json=BODY)
        response.raise_for_status()
        return Completion.model_validate_json(response.content)

    client = OpenAI(api_key="sk-bench", base_url=base_url, http_client=httpx.Client(transport=make_transport()))

    def sdk() -> object:
        return client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test.", max_tokens=7, temperature=0)

    results = {name: timed(call, n) for name, call in (("httpx+json", httpx_json), ("httpx+model", httpx_model), ("openai_client", sdk))}
    print(f"{label} ({n} requests x 5 runs, median per request)")
    for name, seconds in results.items():
        print(f"  {name:14} {seconds * 1e6:8.1f} us")
    print(f"  openai_client / httpx+model = {results['openai_client'] / results['httpx+model']:.3f}")
    print(f"  openai_client / httpx+json  = {results['openai_client'] / results['httpx+json']:.3f}")


def main() -> None:
    def mock() -> httpx.BaseTransport:
        return httpx.MockTransport(lambda request: httpx.Response(200, content=PAYLOAD, headers={"content-type": "application/json"}))

    measure("in-process MockTransport", "http://bench.invalid", mock, 5000)

    server = ScriptedServer().start()
    server.default = Reply(200, body=COMPLETION)
    try:
        measure("real server on 127.0.0.1", server.base_url, httpx.HTTPTransport, 1000)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
