"""cProfile summaries behind the figures in RESULTS.md (not a benchmark: profiling slows code down).

    python3 benchmarks/profile_hotspots.py request      # openai_client.completions.create, 2,000 calls
    python3 benchmarks/profile_hotspots.py streaming    # one 20,000-chunk stream through openai_client
    python3 benchmarks/profile_hotspots.py generate [SPEC]   # `sdkforge generate` in-process (default: full OpenAI file)
    python3 benchmarks/profile_hotspots.py generate-warm [SPEC]  # the same, second run with warm caches (formatting, models)

Each prints where the time goes, grouped by package (own time), the pipeline stages for
``generate``, and the top functions by own time, for routing a hotspot to its owner. ``generate``
runs with ``SDKFORGE_JOBS=0``: every stage in one process, serially, so that cProfile sees it (a
normal run overlaps validation, the models stage and black on worker processes).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

c.reexec_in_bench_venv()

GROUPS = [  # (label, substring of the file path); first match wins
    ("openai_client runtime", "/_runtime/"), ("openai_client generated", "openai_client/"),
    ("generator (sdkforge)", "/generator/"), ("datamodel_code_generator", "datamodel_code_generator"),
    ("black", "/black/"), ("blib2to3", "/blib2to3/"), ("jinja2", "/jinja2/"), ("yaml", "/yaml/"),
    ("openapi_pydantic", "openapi_pydantic"), ("pydantic", "/pydantic/"), ("httpx", "/httpx/"), ("httpcore", "/httpcore/"),
    ("h11", "/h11/"), ("json (stdlib)", "/json/"), ("ssl/socket/selectors", "socket.py"),
]


def group_of(filename: str) -> str:
    for label, needle in GROUPS:
        if needle in filename:
            return label
    if filename.startswith("~") or filename == "<built-in>":
        return "builtins / C"
    return "other Python" if "site-packages" in filename else "stdlib / other"


def summarise(profile: cProfile.Profile, wall: float, stages: tuple[str, ...] = (), top: int = 25) -> None:
    stats = pstats.Stats(profile)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_group[group_of(filename)] += tt
    print(f"wall {wall:.2f} s under cProfile; own time by package:")
    for label, seconds in sorted(by_group.items(), key=lambda kv: -kv[1]):
        if seconds / total >= 0.005:
            print(f"  {label:<28} {seconds:8.3f} s  {100 * seconds / total:5.1f}%")
    if stages:
        print("pipeline stages (cumulative):")
        for (filename, line, name), (_cc, nc, _tt, ct, _callers) in sorted(
                stats.stats.items(), key=lambda kv: -kv[1][3]):  # type: ignore[attr-defined]
            if name in stages and "/generator/" in filename:
                print(f"  {name:<20} {ct:8.3f} s  {100 * ct / total:5.1f}%  ({Path(filename).name}:{line}, {nc} call(s))")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def profile_request() -> None:
    snapshot = c.snapshot_generated()
    sys.path.insert(0, str(snapshot))
    import openai_client

    params: dict[str, Any] = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test.", "max_tokens": 7, "temperature": 0}
    with c.BenchServer(n_events=10) as server:
        client = openai_client.OpenAI(api_key=c.API_KEY, base_url=server.base_url)
        for _ in range(200):
            client.completions.create(**params)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for _ in range(2000):
            client.completions.create(**params)
        profile.disable()
        summarise(profile, time.perf_counter() - started)


def profile_streaming() -> None:
    snapshot = c.snapshot_generated()
    sys.path.insert(0, str(snapshot))
    import openai_client

    with c.BenchServer(n_events=20_000) as server:
        client = openai_client.OpenAI(api_key=c.API_KEY, base_url=server.base_url)
        params: dict[str, Any] = {"model": "gpt-3.5-turbo-instruct", "prompt": "x", "stream": True}
        sum(1 for _ in client.completions.create(**params))
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        count = sum(1 for _ in client.completions.create(**params))
        profile.disable()
        assert count == 20_000, count
        summarise(profile, time.perf_counter() - started)


def profile_generate(spec: Path, warm: bool = False) -> None:
    import os

    from generator.cli import main

    # Every stage in this process, where cProfile sees it (the workers overlap them otherwise).
    os.environ["SDKFORGE_JOBS"] = "0"
    scratch = Path(tempfile.mkdtemp(prefix="sdkforge-profile-"))
    out = scratch / "out"
    argv = ["generate", "--spec", str(spec), "--out", str(out), "--package", "profiled", "--client-name", "Profiled"]
    if warm:  # a first, unprofiled run fills fresh caches (formatting, models); the second run is profiled
        os.environ["SDKFORGE_CACHE_DIR"] = str(scratch / "cache")
        main(argv)
    else:
        os.environ["SDKFORGE_CACHE_DIR"] = ""  # no caches: profile a cold run
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    status = main(argv)
    profile.disable()
    print(f"sdkforge exit status {status}")
    summarise(profile, time.perf_counter() - started,
              stages=("load_spec", "validate", "lower", "build_models", "render_models", "render", "format_files",
                      "write_tree", "_format"))
    c.remove_tree(scratch)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "request"
    if what == "request":
        profile_request()
    elif what == "streaming":
        profile_streaming()
    elif what in ("generate", "generate-warm"):
        profile_generate(Path(sys.argv[2]) if len(sys.argv) > 2 else c.OPENAI_SPEC, warm=what == "generate-warm")
    else:
        sys.exit(__doc__)
