"""The output directory is replaced as a whole or not at all, and sdkforge only ever owns what
it wrote (``generator.write``).

- ``sdkforge generate`` killed with SIGKILL at random moments (many runs, half of them aimed
  at the write itself) leaves ``--out`` holding either the complete previous tree or the
  complete new one, byte for byte, once the next run's recovery has run;
- regeneration removes the files sdkforge wrote that are no longer produced, and keeps the
  user's files (same inode, bytes, mode and times; symlinks and empty directories too);
- a non-empty directory without a manifest is refused unless ``--force``, which keeps its
  files; a user's file where the new tree has one is refused unless ``--force``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from generator.write import MANIFEST, OutputError, read_manifest, recover, write_tree

ROOT = Path(__file__).resolve().parent.parent


# -- helpers ---------------------------------------------------------------------------------


def spec(resources: int, variant: str) -> dict[str, Any]:
    """A spec with one operation per tag: many resource modules, so writing takes a while."""
    paths = {
        f"/things{i}/{{id}}": {"get": {
            "operationId": f"get{i}", "tags": [f"group{i}"], "summary": f"{variant} get {i}",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
        }}
        for i in range(resources)
    }
    return {"openapi": "3.1.0", "info": {"title": f"Tree {variant}", "version": "1.0.0"}, "paths": paths,
            "components": {"schemas": {"Thing": {"type": "object", "properties": {"id": {"type": "string", "description": variant}}}}}}


def tree(root: Path) -> dict[str, str]:
    """Every file and symlink under ``root`` with the SHA-256 of its bytes (or link target)."""
    found: dict[str, str] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in [*filenames, *(d for d in dirnames if (Path(directory) / d).is_symlink())]:
            path = Path(directory) / name
            key = path.relative_to(root).as_posix()
            found[key] = "link:" + os.readlink(path) if path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()
        for name in dirnames:
            if not any((Path(directory) / name).iterdir()):
                found[(Path(directory) / name).relative_to(root).as_posix() + "/"] = "empty dir"
    return found


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def cli(spec_path: Path, out: Path, *flags: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "generate", "--spec", str(spec_path), "--out", str(out), "--package", "p", *flags],
        cwd=spec_path.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )


def files_of(*names: str, text: str = "x") -> dict[PurePosixPath, str]:
    return {PurePosixPath(name): f"{text} {name}\n" for name in names}


# -- SIGKILL at random moments -----------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_a_complete_tree(tmp_path: Path) -> None:
    env = {**os.environ, "SDKFORGE_CACHE_DIR": str(tmp_path / "cache")}  # warm after the first runs, and ours
    specs = {}
    for variant, count in (("A", 100), ("B", 80)):
        specs[variant] = tmp_path / f"{variant}.json"
        specs[variant].write_text(json.dumps(spec(count, variant)), encoding="utf-8")

    # The user's own files live in the output directory too; they must survive every kill.
    out = tmp_path / "out"
    out.mkdir()
    for i in range(200):
        (out / "notes" / f"{i:03}.txt").parent.mkdir(exist_ok=True)
        (out / "notes" / f"{i:03}.txt").write_text(f"note {i}\n")
    (out / "link").symlink_to("notes/000.txt")

    # The complete trees, from runs that were not interrupted (and how long a run takes).
    expected: dict[str, dict[str, str]] = {}
    timing: dict[str, tuple[float, float]] = {}
    for variant in ("A", "B", "A", "B"):  # the second round runs with a warm format cache
        started = time.monotonic()
        process = cli(specs[variant], out, "--force", env=env)
        staging_seen = _watch(process, out)
        assert process.wait() == 0, process.stderr.read() if process.stderr else ""
        timing[variant] = (staging_seen or 0.0, time.monotonic() - started)
        expected[variant] = tree(out)
    assert expected["A"] != expected["B"]
    assert all(f"notes/{i:03}.txt" in expected["A"] for i in range(200))

    rng = random.Random(20240611)
    killed_while_writing = 0
    outcomes: dict[str, int] = {"A": 0, "B": 0}
    for run in range(30):
        variant = "AB"[run % 2]
        before = tree(out) if out.exists() else None
        staging_at, total = timing[variant]
        process = cli(specs[variant], out, env=env)
        if run % 2:  # aimed at the write: wait for the staging directory, then a little more
            staging_seen = _watch(process, out, until_staging=True)
            time.sleep(rng.uniform(0, max(total - staging_at, 0.05) * 1.2))
        else:  # anywhere in the run
            staging_seen = None
            time.sleep(rng.uniform(0, total * 1.1))
        writing = staging_seen is not None and process.poll() is None
        process.kill()
        process.wait()
        killed_while_writing += writing

        # A kill between the two renames leaves no output and the previous tree aside; the
        # next run puts it back (or finishes the swap) before it does anything else.
        assert out.exists() or (out.parent / f".{out.name}.old").exists()
        recover(out)
        after = tree(out)
        assert after in (expected["A"], expected["B"]), f"run {run}: a mixed or partial tree"
        assert after == before or after == expected[variant], f"run {run}: neither the previous nor the new tree"
        assert leftovers(out) == []
        assert read_manifest(out) is not None
        outcomes["A" if after == expected["A"] else "B"] += 1
    assert killed_while_writing >= 5, f"only {killed_while_writing} kills landed while the tree was being written"

    # And a run that is left alone afterwards completes normally.
    process = cli(specs["B"], out, env=env)
    assert process.wait() == 0
    assert tree(out) == expected["B"] and leftovers(out) == []


def _watch(process: subprocess.Popen[bytes], out: Path, until_staging: bool = False) -> float | None:
    """Seconds until the staging directory appeared (polling), or None if it never did."""
    started = time.monotonic()
    while process.poll() is None:
        if any(name.startswith(f".{out.name}.new-") for name in os.listdir(out.parent)):
            seen = time.monotonic() - started
            if until_staging:
                return seen
            while process.poll() is None:
                time.sleep(0.002)
            return seen
        time.sleep(0.0005)
    return None


# -- ownership ---------------------------------------------------------------------------------


def test_regeneration_removes_what_sdkforge_no_longer_produces(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, files_of("p/__init__.py", "p/resources/a.py", "p/resources/b.py", "p/old/gone.py"))
    (out / "p" / "mine.py").write_text("# my own helper\n")
    write_tree(out, files_of("p/__init__.py", "p/resources/a.py", text="new"))
    assert tree(out).keys() == {"p/__init__.py", "p/resources/a.py", "p/mine.py", MANIFEST}
    assert (out / "p" / "resources" / "a.py").read_text() == "new p/resources/a.py\n"
    assert json.loads((out / MANIFEST).read_text())["files"] == {
        "p/__init__.py": hashlib.sha256(b"new p/__init__.py\n").hexdigest(),
        "p/resources/a.py": hashlib.sha256(b"new p/resources/a.py\n").hexdigest(),
    }


def test_files_sdkforge_did_not_write_are_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, files_of("p/__init__.py", "p/_client.py"))
    mine = out / "p" / "mine.py"
    mine.write_text("# mine\n")
    mine.chmod(0o750)
    os.utime(mine, (1_000_000_000, 1_000_000_000))
    (out / "scripts").mkdir()
    (out / "scripts" / "run.sh").write_text("#!/bin/sh\n")
    (out / "empty").mkdir()
    (out / "latest").symlink_to("p/_client.py")
    (out / "dangling").symlink_to("nowhere")
    before = {p: os.lstat(out / p) for p in ("p/mine.py", "scripts/run.sh", "latest", "dangling")}

    write_tree(out, files_of("p/__init__.py", "p/_client.py", "p/extra.py", text="v2"))

    for name, old in before.items():
        new = os.lstat(out / name)
        assert (new.st_ino, new.st_mode, new.st_mtime_ns, new.st_size) == (old.st_ino, old.st_mode, old.st_mtime_ns, old.st_size), name
    assert mine.read_text() == "# mine\n"
    assert os.readlink(out / "latest") == "p/_client.py" and os.readlink(out / "dangling") == "nowhere"
    assert (out / "empty").is_dir()
    assert read_manifest(out) == {"p/__init__.py", "p/_client.py", "p/extra.py"}


def test_a_foreign_directory_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    (out / "main.py").write_text("print('hello')\n")
    with pytest.raises(OutputError, match="not empty and was not written by sdkforge"):
        write_tree(out, files_of("p/__init__.py"))
    assert tree(out) == {"main.py": hashlib.sha256(b"print('hello')\n").hexdigest()}
    assert leftovers(out) == []

    write_tree(out, files_of("p/__init__.py"), force=True)  # taken over: its files stay
    assert (out / "main.py").read_text() == "print('hello')\n"
    assert read_manifest(out) == {"p/__init__.py"}
    write_tree(out, files_of("p/_client.py"))  # from now on sdkforge owns only what it wrote
    assert (out / "main.py").exists() and not (out / "p" / "__init__.py").exists()


def test_a_user_file_where_the_new_tree_has_one_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, files_of("p/__init__.py"))
    (out / "p" / "resources").mkdir()
    (out / "p" / "resources" / "pets.py").write_text("# the user's\n")
    with pytest.raises(OutputError, match="resources/pets.py was not written by sdkforge"):
        write_tree(out, files_of("p/__init__.py", "p/resources/pets.py"))
    assert (out / "p" / "resources" / "pets.py").read_text() == "# the user's\n"
    write_tree(out, files_of("p/__init__.py", "p/resources/pets.py"), force=True)
    assert (out / "p" / "resources" / "pets.py").read_text() == "x p/resources/pets.py\n"


def test_the_command_refuses_a_foreign_directory(tmp_path: Path) -> None:
    out = tmp_path / "src"
    out.mkdir()
    (out / "app.py").write_text("x = 1\n")
    spec_path = tmp_path / "openapi.json"
    spec_path.write_text(json.dumps(spec(2, "A")))
    result = subprocess.run([sys.executable, "-m", "generator", "generate", "--spec", str(spec_path), "--out", str(out),
                             "--package", "p"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "not written by sdkforge" in result.stderr and "--force" in result.stderr
    assert tree(out) == {"app.py": hashlib.sha256(b"x = 1\n").hexdigest()}


def test_output_directory_keeps_ordinary_permissions(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, files_of("p/__init__.py"))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask  # not the 0700 of a temporary directory
    out.chmod(0o751)
    write_tree(out, files_of("p/__init__.py", text="v2"))
    assert stat.S_IMODE(out.stat().st_mode) == 0o751


def test_a_failure_while_writing_leaves_the_previous_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import generator.write as write

    out = tmp_path / "out"
    write_tree(out, files_of("p/__init__.py", "p/a.py"))
    before = tree(out)
    real = write._write_file
    calls = 0

    def failing(path: Path, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(write, "_write_file", failing)
    with pytest.raises(OSError, match="No space"):
        write_tree(out, files_of("p/__init__.py", "p/a.py", "p/b.py", text="v2"))
    assert tree(out) == before and leftovers(out) == []


def test_an_interrupted_swap_is_finished_or_undone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, files_of("p/__init__.py", text="v1"))
    v1 = tree(out)
    # Killed between the two renames: no output, the previous tree aside.
    os.rename(out, tmp_path / ".out.old")
    (tmp_path / ".out.new-123456").mkdir()
    recover(out)
    assert tree(out) == v1 and leftovers(out) == []
    # Killed after the second rename: the new tree is in place, the old one still aside.
    (tmp_path / ".out.old").mkdir()
    (tmp_path / ".out.old" / "stale.py").write_text("")
    recover(out)
    assert tree(out) == v1 and leftovers(out) == []


def test_a_hostile_manifest_is_harmless(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("mine\n")
    (out / MANIFEST).write_text(json.dumps({"files": ["../victim.txt", str(victim), "mine.txt/../../victim.txt"]}))
    write_tree(out, files_of("p/__init__.py"))
    assert victim.read_text() == "keep me\n" and (out / "mine.txt").read_text() == "mine\n"
    (out / MANIFEST).write_text(json.dumps({"files": "p/__init__.py"}))
    with pytest.raises(OutputError, match="not an sdkforge manifest"):
        write_tree(out, files_of("p/__init__.py"))
    with pytest.raises(OutputError, match="not a plain path"):
        write_tree(tmp_path / "other", {PurePosixPath("../escape.py"): ""})


def test_concurrent_runs_take_turns(tmp_path: Path) -> None:
    out = tmp_path / "out"
    trees = [files_of(*(f"p/m{i}_{j}.py" for j in range(40)), text=f"run{i}") for i in range(4)]
    errors: list[BaseException] = []

    def run(files: dict[PurePosixPath, str]) -> None:
        try:
            write_tree(out, files)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(files,)) for files in trees]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = read_manifest(out)
    assert final in [{str(p) for p in files} for files in trees]
    assert leftovers(out) == []


def test_the_working_directory_is_never_swapped_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    monkeypatch.chdir(project / "src")
    for out in (project, project / "src"):
        with pytest.raises(OutputError, match="contains the current directory"):
            write_tree(out, files_of("p/__init__.py"), force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]
