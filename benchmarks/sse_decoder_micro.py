"""Micro-benchmark of the runtime SSE decoder (not a test).

Builds 20,000 realistic text-completion stream chunks, concatenates them and
re-cuts the byte stream into 4 KiB network-sized chunks, then measures:

* ``SSEDecoder`` alone (bytes -> ServerSentEvent objects);
* a bare baseline: ``bytes.splitlines`` over the whole payload + ``json.loads``
  of each ``data:`` line (what parsing the payloads costs anyway);
* ``SSEDecoder`` + ``json.loads`` of each event's data (realistic total).

Prints events/second, median of 5 runs.  Run from the repository root:

    .venv/bin/python benchmarks/sse_decoder_micro.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from templates.runtime._sse import SSEDecoder  # noqa: E402

N_EVENTS = 20_000
CHUNK_SIZE = 4096
RUNS = 5
WORDS = ["This", " is", " a", " test", " of", " streaming", " completions", ".", "\n", " é", " 🎉"]


def build_payload() -> bytes:
    parts: List[bytes] = []
    for i in range(N_EVENTS):
        body = {
            "id": f"cmpl-8ABCdefGHIjklMNOpqrSTUvwx{i:05d}",
            "object": "text_completion",
            "created": 1690759702,
            "choices": [{"text": WORDS[i % len(WORDS)], "index": 0, "logprobs": None, "finish_reason": None}],
            "model": "gpt-3.5-turbo-instruct",
            "system_fingerprint": "fp_44709d6fcb",
        }
        parts.append(b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def cut(payload: bytes, size: int) -> List[bytes]:
    return [payload[i : i + size] for i in range(0, len(payload), size)]


def bench(fn: Callable[[], int]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - start)
        assert count == N_EVENTS + 1, count
    return (N_EVENTS + 1) / statistics.median(times)


def main() -> None:
    payload = build_payload()
    chunks = cut(payload, CHUNK_SIZE)

    def decoder_only() -> int:
        return sum(1 for _ in SSEDecoder().iter_events(chunks))

    def splitlines_json() -> int:
        count = 0
        for line in payload.splitlines():
            if line.startswith(b"data: "):
                data = line[6:]
                if data != b"[DONE]":
                    json.loads(data)
                count += 1
        return count

    def decoder_json() -> int:
        count = 0
        for event in SSEDecoder().iter_events(chunks):
            if event.data != "[DONE]":
                json.loads(event.data)
            count += 1
        return count

    print(
        f"{N_EVENTS} events, {len(payload):,} bytes "
        f"(~{len(payload) // N_EVENTS} B/event), {len(chunks)} chunks of {CHUNK_SIZE} B; "
        f"median of {RUNS} runs; Python {sys.version.split()[0]}"
    )
    results = [
        ("SSEDecoder alone", bench(decoder_only)),
        ("bytes.splitlines + json.loads", bench(splitlines_json)),
        ("SSEDecoder + json.loads", bench(decoder_json)),
    ]
    for name, rate in results:
        print(f"  {name:<32} {rate:>12,.0f} events/s  ({1e6 / rate:6.2f} us/event)")


if __name__ == "__main__":
    main()
