"""Streaming throughput of the emitted client against a bare httpx loop (issue 4's speed target).

A server in its own process (so it never shares the GIL with the client being measured) answers
every POST with ``text/event-stream``: N text-completion chunks, then ``data: [DONE]``. Contenders,
run alternately, each reading the whole stream on a warm keep-alive connection:

* ``httpx``: the floor, bare ``httpx`` ``iter_lines`` + ``json.loads`` of each ``data:`` line;
* ``openai_client``: ``OpenAI.completions.create(..., stream=True)`` of the emitted package,
  yielding one validated ``Completion`` model per chunk (SSE decoding + ``model_validate_json``);
* ``httpx+validate`` (information): the bare loop with ``Completion.model_validate_json``;
* ``openai_client async`` (information): the same through ``AsyncOpenAI``;
* ``openai (official SDK)`` (information, when ``openai`` is installed): OpenAI's own client.

Two framings of the same events (``--framing``):

* ``event`` (default): one HTTP chunk per event, as a server flushing token by token sends them;
* ``coalesced``: the events packed into 16 KiB HTTP chunks (per-event parsing cost dominates).

Prints chunks/second of each contender (median of ``--runs`` runs) and the ratio to bare httpx;
exits with status 1 if ``openai_client`` is below ``--target`` (0.7x) in any framing measured.

    .venv/bin/python benchmarks/streaming_throughput.py [--events 20000] [--runs 7]
        [--framing event|coalesced|both] [--json PATH]

Uses the project's own virtualenv (httpx, pydantic) and the package in ``generated/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.7
WORDS = ["This", " is", " a", " test", " of", " streaming", " completions", ".", "\n", " é", " 🎉"]
COALESCE = 16 * 1024


# -- the server (``--serve``): its own process ----------------------------------------------------


def chunk_event(i: int, last: bool) -> bytes:
    body = {
        "id": "cmpl-8ABCdefGHIjklMNOpqrSTUvwx",
        "object": "text_completion",
        "created": 1690759702,
        "choices": [{"text": WORDS[i % len(WORDS)], "index": 0, "logprobs": None,
                     "finish_reason": "length" if last else None}],
        "model": "gpt-3.5-turbo-instruct",
        "system_fingerprint": "fp_44709d6fcb",
    }
    return b"data: " + json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def build_response(n_events: int, framing: str) -> bytes:
    events = [chunk_event(i, i == n_events - 1) for i in range(n_events)] + [b"data: [DONE]\n\n"]
    if framing == "coalesced":
        joined = b"".join(events)
        events = [joined[i : i + COALESCE] for i in range(0, len(joined), COALESCE)]
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\ncache-control: no-cache\r\nx-request-id: req_bench\r\n\r\n")
    return head + b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"


class _Handler(asyncio.Protocol):
    def __init__(self, answers: dict[str, bytes]) -> None:
        self.answers = answers
        self.buffer = bytearray()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            path = head.split(" ", 2)[1]
            self.transport.write(self.answers["coalesced" if "coalesced" in path else "event"])


async def _serve(n_events: int) -> None:
    answers = {framing: build_response(n_events, framing) for framing in ("event", "coalesced")}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Handler(answers), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    done = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(None))
    await done  # the benchmark closed our stdin (or exited)
    server.close()


# -- the contenders -----------------------------------------------------------------------------


def contenders(base_url: str, framing: str, n_events: int) -> tuple[dict[str, Callable[[], int]], Callable[[], None]]:
    """The contenders for one framing, and a function that closes what they opened."""
    import httpx

    sys.path.insert(0, str(REPO / "generated"))
    from openai_client import AsyncOpenAI, OpenAI
    from openai_client.types import Completion

    prefix = f"{base_url}/{framing}"
    params: dict[str, Any] = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test.", "max_tokens": n_events}
    bare = httpx.Client(timeout=600)
    headers = {"Authorization": "Bearer sk-bench"}

    def bare_loop(parse: Callable[[str], object]) -> Callable[[], int]:
        def run() -> int:
            count = 0
            with bare.stream("POST", prefix + "/completions", json={**params, "stream": True}, headers=headers) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        data = line[6:]
                        if data == "[DONE]":
                            break
                        parse(data)
                        count += 1
            return count

        return run

    ours = OpenAI(api_key="sk-bench", base_url=prefix)

    def ours_sync() -> int:
        count = 0
        last: Any = None
        for last in ours.completions.create(**params, stream=True):
            count += 1
        assert isinstance(last, Completion) and last.choices[0].finish_reason == "length", last
        return count

    loop = asyncio.new_event_loop()
    ours_async = AsyncOpenAI(api_key="sk-bench", base_url=prefix)

    async def ours_async_stream() -> int:
        count = 0
        last: Any = None
        async for last in await ours_async.completions.create(**params, stream=True):
            count += 1
        assert isinstance(last, Completion) and last.choices[0].finish_reason == "length", last
        return count

    runs: dict[str, Callable[[], int]] = {
        "httpx": bare_loop(json.loads),
        "openai_client": ours_sync,
        "httpx+validate": bare_loop(Completion.model_validate_json),
        "openai_client async": lambda: loop.run_until_complete(ours_async_stream()),
    }
    try:  # OpenAI's own SDK, when installed (it is in the benchmarks' .bench-venv, not in .venv)
        import openai
    except ImportError:
        openai = None
    if openai is not None:
        theirs = openai.OpenAI(api_key="sk-bench", base_url=prefix)

        def theirs_sync() -> int:
            return sum(1 for _ in theirs.completions.create(**params, stream=True))

        runs["openai (official SDK)"] = theirs_sync

    def close() -> None:
        bare.close()
        ours.close()
        loop.run_until_complete(ours_async.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    return runs, close


def measure(runs: dict[str, Callable[[], int]], rounds: int, n_events: int) -> dict[str, float]:
    names = list(runs)
    for name in names:  # warm-up: connections, lazy imports, caches
        assert runs[name]() == n_events, name
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:  # alternate who goes first
            started = time.perf_counter()
            count = runs[name]()
            elapsed = time.perf_counter() - started
            assert count == n_events, (name, count)
            samples[name].append(n_events / elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--framing", choices=["event", "coalesced", "both"], default="both")
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.serve))
        return 0
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.events)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        framings = ["event", "coalesced"] if args.framing == "both" else [args.framing]
        results: dict[str, dict[str, float]] = {}
        failed = False
        print(f"streaming: {args.events:,} completion chunks over SSE from a server process on 127.0.0.1, "
              f"median of {args.runs} runs; Python {sys.version.split()[0]}")
        for framing in framings:
            runs, close = contenders(base_url, framing, args.events)
            try:
                rates = measure(runs, args.runs, args.events)
            finally:
                close()
            results[framing] = rates
            base = rates["httpx"]
            print(f"\nframing: {framing} ({'one HTTP chunk per event' if framing == 'event' else f'{COALESCE // 1024} KiB HTTP chunks'})")
            print(f"  {'contender':<22}{'chunks/s':>12}{'us/chunk':>10}{'ratio':>8}")
            for name, rate in rates.items():
                print(f"  {name:<22}{rate:>12,.0f}{1e6 / rate:>10.1f}{rate / base:>7.2f}x")
            ratio = rates["openai_client"] / base
            verdict = "ok" if ratio >= args.target else "BELOW TARGET"
            failed |= ratio < args.target
            print(f"  openai_client / httpx = {ratio:.2f}x (target >= {args.target}x): {verdict}")
        if args.json:
            args.json.write_text(json.dumps({"events": args.events, "runs": args.runs, "target": args.target,
                                             "rates": results}, indent=2), encoding="utf-8")
        return 1 if failed else 0
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
