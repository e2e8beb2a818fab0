"""Request overhead: what a client adds to one non-streaming call.

A keep-alive HTTP/1.1 server on 127.0.0.1 (``_server.py``, its own process) returns a canned
completion. Each contender makes 2,000 sequential ``POST /v1/completions`` calls over one kept-alive
connection; the calls are timed one by one, in rounds of 100 where the contenders take turns
(the order rotates every round) so that drift from other load hits all of them alike.

* ``httpx``: bare ``httpx.Client.post(json=...)`` + ``json.loads`` of the body (the floor);
* ``httpx+validate`` (information): the same + ``Completion.model_validate_json`` of the body,
  i.e. the floor for a client that returns validated models;
* ``openai_client``: ``openai_client.OpenAI(...).completions.create(...)`` (generated/);
* ``openai``: OpenAI's official SDK, ``openai.OpenAI(...).completions.create(...)``.

Target: median latency of openai_client <= 1.15x bare httpx.

    python3 benchmarks/bench_request.py [--json PATH]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

c.reexec_in_bench_venv()

CALLS = 400 if c.quick() else 2_000
ROUND = 100
WARMUP = 50 if c.quick() else 200
PARAMS: dict[str, Any] = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test.", "max_tokens": 7, "temperature": 0}
TARGET = 1.15


def contenders(base_url: str) -> dict[str, Callable[[], object]]:
    import httpx
    import openai
    import openai_client
    from openai_client.types import Completion

    bare = httpx.Client(timeout=600)
    headers = {"Authorization": f"Bearer {c.API_KEY}"}
    url = base_url + "/completions"

    def bare_call() -> object:
        response = bare.post(url, json=PARAMS, headers=headers)
        response.raise_for_status()
        return json.loads(response.content)

    def bare_validate() -> object:
        response = bare.post(url, json=PARAMS, headers=headers)
        response.raise_for_status()
        return Completion.model_validate_json(response.content)

    ours = openai_client.OpenAI(api_key=c.API_KEY, base_url=base_url)
    theirs = openai.OpenAI(api_key=c.API_KEY, base_url=base_url)

    def ours_call() -> object:
        return ours.completions.create(**PARAMS)

    def theirs_call() -> object:
        return theirs.completions.create(**PARAMS)

    calls = {"httpx": bare_call, "httpx+validate": bare_validate, "openai_client": ours_call, "openai": theirs_call}
    # Each must really have parsed the canned completion.
    for name, call in calls.items():
        result = call()
        text = result["choices"][0]["text"] if isinstance(result, dict) else result.choices[0].text  # type: ignore[attr-defined]
        assert text == "\n\nThis is indeed a test", (name, result)
    return calls


def measure(calls: dict[str, Callable[[], object]]) -> dict[str, list[int]]:
    names = list(calls)
    for name in names:
        for _ in range(WARMUP):
            calls[name]()
    samples: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for round_no in range(CALLS // ROUND):
        for name in c.rotated(names, round_no):
            call, out = calls[name], samples[name]
            for _ in range(ROUND):
                started = clock()
                call()
                out.append(clock() - started)
    return samples


def main() -> list[c.Row]:
    snapshot = c.snapshot_generated()
    sys.path.insert(0, str(snapshot))
    measure_text = f"median latency of {CALLS:,} sequential calls, keep-alive server on 127.0.0.1"
    with c.BenchServer(n_events=10) as server:
        calls = contenders(server.base_url)
        samples = measure(calls)
    med = {name: c.median(values) / 1e9 for name, values in samples.items()}
    p90 = {name: sorted(values)[int(len(values) * 0.9)] / 1e9 for name, values in samples.items()}
    print(f"request overhead: {measure_text}; {c.python_description()}")
    c.print_table(["client", "median", "p90", "ratio to bare httpx"],
                  [[name, c.fmt_seconds(med[name]), c.fmt_seconds(p90[name]), f"{med[name] / med['httpx']:.2f}x"]
                   for name in samples])
    bare = med["httpx"]
    rows = [
        c.Row("request", "request overhead", measure_text, c.fmt_seconds(med["openai_client"]),
              {"bare httpx": c.fmt_seconds(bare), "openai": f"{c.fmt_seconds(med['openai'])} ({med['openai'] / bare:.2f}x)"},
              ratio=med["openai_client"] / bare, ratio_of="bare httpx",
              target=f"<= {TARGET}x bare httpx", target_op="<=", target_value=TARGET,
              note=f"bare httpx + pydantic validation of the same body: {c.fmt_seconds(med['httpx+validate'])} "
                   f"({med['httpx+validate'] / bare:.2f}x)"),
    ]
    return rows


if __name__ == "__main__":
    result = main()
    c.print_rows(result)
    c.write_rows(result, c.json_arg(sys.argv))
