"""Streaming throughput: chunks per second over one server-sent event stream.

The server (``_server.py``, its own process, 127.0.0.1) answers ``"stream": true`` with 20,000
text-completion chunks (one HTTP chunk each, as a server flushing token by token sends them)
and ``data: [DONE]``. Each contender reads the whole stream; rounds alternate the contenders.

* ``httpx``: bare ``httpx`` ``iter_lines`` + ``json.loads`` of each ``data:`` line (the floor);
* ``httpx+validate`` (information): the same with ``Completion.model_validate_json`` instead of
  ``json.loads``, the floor for a client that yields validated models;
* ``openai_client``: ``completions.create(..., stream=True)``, iterating validated models;
* ``openai``: OpenAI's official SDK, the same call.

Target: openai_client chunks/s >= 0.7x bare httpx.

    python3 benchmarks/bench_streaming.py [--json PATH]
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

EVENTS = 20_000
ROUNDS = 2 if c.quick() else 5
TARGET = 0.7
PARAMS: dict[str, Any] = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test.", "max_tokens": 20_000, "temperature": 0}


def contenders(base_url: str) -> dict[str, Callable[[], int]]:
    import httpx
    import openai
    import openai_client
    from openai_client.types import Completion

    bare = httpx.Client(timeout=600)
    headers = {"Authorization": f"Bearer {c.API_KEY}"}
    url = base_url + "/completions"
    body = {**PARAMS, "stream": True}

    def bare_stream(parse: Callable[[str], object]) -> Callable[[], int]:
        def run() -> int:
            count = 0
            with bare.stream("POST", url, json=body, headers=headers) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        data = line[6:]
                        if data == "[DONE]":
                            break
                        parse(data)
                        count += 1
            return count

        return run

    ours = openai_client.OpenAI(api_key=c.API_KEY, base_url=base_url)
    theirs = openai.OpenAI(api_key=c.API_KEY, base_url=base_url)

    def ours_stream() -> int:
        count = 0
        for chunk in ours.completions.create(**PARAMS, stream=True):
            count += 1
        assert isinstance(chunk, Completion) and chunk.choices[0].finish_reason == "length", chunk
        return count

    def theirs_stream() -> int:
        count = 0
        for chunk in theirs.completions.create(**PARAMS, stream=True):
            count += 1
        assert chunk.choices[0].finish_reason == "length", chunk
        return count

    return {
        "httpx": bare_stream(json.loads),
        "httpx+validate": bare_stream(Completion.model_validate_json),
        "openai_client": ours_stream,
        "openai": theirs_stream,
    }


def measure(streams: dict[str, Callable[[], int]]) -> dict[str, list[float]]:
    names = list(streams)
    for name in names:  # warm-up: first connection, caches, lazy imports
        assert streams[name]() == EVENTS, name
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(ROUNDS):
        for name in c.rotated(names, round_no):
            started = time.perf_counter()
            count = streams[name]()
            elapsed = time.perf_counter() - started
            assert count == EVENTS, (name, count)
            samples[name].append(EVENTS / elapsed)
        if round_no >= 2 and c.past_deadline():
            break
    return samples


def main() -> list[c.Row]:
    snapshot = c.snapshot_generated()
    sys.path.insert(0, str(snapshot))
    with c.BenchServer(n_events=EVENTS) as server:
        samples = measure(contenders(server.base_url))
    rate = {name: c.median(values) for name, values in samples.items()}
    runs = len(samples["httpx"])
    measure_text = f"chunks/s over {EVENTS:,} SSE chunks (median of {runs} runs), server on 127.0.0.1"
    print(f"streaming: {measure_text}; {c.python_description()}")
    c.print_table(["client", "chunks/s", "us/chunk", "ratio to bare httpx"],
                  [[name, f"{rate[name]:,.0f}", f"{1e6 / rate[name]:.1f}", f"{rate[name] / rate['httpx']:.2f}x"]
                   for name in samples])
    bare = rate["httpx"]
    return [
        c.Row("streaming", "streaming", measure_text, f"{rate['openai_client']:,.0f}/s",
              {"bare httpx": f"{bare:,.0f}/s", "openai": f"{rate['openai']:,.0f}/s ({rate['openai'] / bare:.2f}x)"},
              ratio=rate["openai_client"] / bare, ratio_of="bare httpx",
              target=f">= {TARGET}x bare httpx", target_op=">=", target_value=TARGET,
              note=f"bare httpx + pydantic validation of each chunk: {rate['httpx+validate']:,.0f}/s "
                   f"({rate['httpx+validate'] / bare:.2f}x)"),
    ]


if __name__ == "__main__":
    result = main()
    c.print_rows(result)
    c.write_rows(result, c.json_arg(sys.argv))
