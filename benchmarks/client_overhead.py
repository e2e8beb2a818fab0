"""CPU cost the emitted client adds to a request, with no network at all (not a test).

The target figure (openai_client <= 1.15x bare httpx, against a real server in its own process)
is measured by ``bench_request.py``; this script isolates what the runtime itself costs, so a
change to the hot path (``_base_client.request``/``_build_request``/``_parse``) can be judged
in seconds. Both contenders use the same in-process ``httpx.MockTransport`` returning a canned
completion:

* ``httpx+model``    ``httpx.Client.post(json=...)``, ``raise_for_status()``, then
                     ``Completion.model_validate_json`` (the floor for any typed client);
* ``openai_client``  ``OpenAI(...).completions.create(...)`` (headers, options, retry loop,
                     status check, parsing into ``Completion`` with its request id).

Rounds of 300 calls alternate between the two; the best round of each is reported (the least
disturbed by other load on the machine). Run from the repository root:

    .venv/bin/python benchmarks/client_overhead.py
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "generated")]

import httpx  # noqa: E402

from openai_client import OpenAI  # noqa: E402
from openai_client.types import Completion  # noqa: E402

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
ROUNDS = 40
PER_ROUND = 300


def transport() -> httpx.MockTransport:
    headers = {"content-type": "application/json", "x-request-id": "req_bench"}
    return httpx.MockTransport(lambda request: httpx.Response(200, content=PAYLOAD, headers=headers))


def main() -> None:
    bare = httpx.Client(transport=transport(), headers={"Authorization": "Bearer sk-bench"})

    def httpx_model() -> object:
        response = bare.post("http://bench.invalid/completions", json=BODY)
        response.raise_for_status()
        return Completion.model_validate_json(response.content)

    client = OpenAI(api_key="sk-bench", base_url="http://bench.invalid", http_client=httpx.Client(transport=transport()))

    def sdk() -> object:
        return client.completions.create(**BODY)  # type: ignore[arg-type]

    contenders: dict[str, Callable[[], object]] = {"httpx+model": httpx_model, "openai_client": sdk}
    best = {name: float("inf") for name in contenders}
    for call in contenders.values():
        for _ in range(500):
            call()
    for round_ in range(ROUNDS):
        order = list(contenders.items())
        for name, call in order if round_ % 2 else reversed(order):
            started = time.perf_counter()
            for _ in range(PER_ROUND):
                call()
            best[name] = min(best[name], (time.perf_counter() - started) / PER_ROUND)
    print(f"in-process MockTransport, best of {ROUNDS} rounds of {PER_ROUND} calls, per call:")
    for name, seconds in best.items():
        print(f"  {name:14} {seconds * 1e6:7.1f} us")
    extra = best["openai_client"] - best["httpx+model"]
    print(f"  runtime overhead: {extra * 1e6:.1f} us per call ({best['openai_client'] / best['httpx+model']:.2f}x with no network)")


if __name__ == "__main__":
    main()
