"""The one-time llama.cpp build shows progress: its filter reads the build's real output.

``data/pip_wheel_scikit_build_ninja.log`` is a captured ``pip wheel -v`` of a small
scikit-build-core project with ``build.verbose = true``, as llama-cpp-python builds:
CMake configures, then Ninja prints ``[N/M] <compiler command>`` per step, indented
by pip.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
LOG = Path(__file__).parent / "data" / "pip_wheel_scikit_build_ninja.log"


def _filter() -> ModuleType:
    path = ROOT / "tools" / "build_progress.py"
    spec = importlib.util.spec_from_file_location("build_progress", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_captured_ninja_log_gives_a_step_counter_and_milestones() -> None:
    lines = list(_filter().progress(LOG.read_text().splitlines(), label="llama.cpp"))
    steps = [line for line in lines if "step " in line]
    assert [s.split("step ")[1].split(" ")[0] for s in steps] == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    assert "step 5/5 (100%), 0m00s elapsed  [libtinycap.so]" in steps[-1]
    assert "[a.c.o]" in steps[0]  # the object file, not the whole compiler command
    assert any("-- Configuring done" in line for line in lines)
    assert any("Successfully built" in line for line in lines)
    assert all(line.startswith("  llama.cpp: ") for line in lines)


def test_make_percent_lines_and_errors_are_shown() -> None:
    log = [
        "[ 12%] Building C object vendor/ggml.c.o",
        "-- Performing Test HAVE_X - Failed",  # a configure probe, not an error
        "/src/ggml.c:3:1: error: expected ';'",
        "FAILED: vendor/ggml.c.o",
    ]
    lines = list(_filter().progress(log))
    assert lines[0].startswith("  build: 12%, 0m00s elapsed")
    assert "error: expected" in lines[1] and "FAILED: vendor/ggml.c.o" in lines[2]
    assert len(lines) == 3


def test_a_long_build_prints_a_line_per_tenth_or_per_interval() -> None:
    ticks = iter(range(10_000))

    def clock() -> float:
        return next(ticks) / 100  # 1,000 quick steps: 10 s in all

    log = [f"  [{i}/1000] /usr/bin/c++ -o obj/f{i}.o -c f{i}.cpp" for i in range(1, 1001)]
    lines = list(_filter().progress(log, every=5.0, clock=clock))
    assert 10 <= len(lines) <= 14  # each tenth, the last step, and a 5 s heartbeat
    assert "step 1000/1000 (100%), 0m10s elapsed  [f1000.o]" in lines[-1]


def _fake_python(tmp_path: Path, *, fail: bool) -> Path:
    """A python that "downloads" a source tree whose CMakeLists forces the common library
    on, and "builds" by printing the captured log (and a wheel unless ``fail``); it keeps
    the CMake arguments and the CMakeLists it was handed in ``seen/``."""
    fake = tmp_path / "python"
    wheel = "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl"
    build = "exit 1" if fail else f'touch "$out/{wheel}"'
    seen = tmp_path / "seen"
    seen.mkdir()
    src = tmp_path / "sdist" / "llama_cpp_python-0.3.36"
    src.mkdir(parents=True)
    (src / "CMakeLists.txt").write_text(
        'set(LLAMA_BUILD_COMMON ON CACHE BOOL "Build llama.cpp common library" FORCE)\n')
    sdist = tmp_path / "sdist.tar.gz"
    subprocess.run(["tar", "-czf", str(sdist), "-C", str(src.parent), src.name], check=True)
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2 $3" = "-m pip download" ]; then\n'
        '  while [ "$1" != "-d" ]; do shift; done\n'
        f'  cp "{sdist}" "$2/llama_cpp_python-0.3.36.tar.gz"; exit 0\nfi\n'
        'if [ "$1 $2 $3" = "-m pip wheel" ]; then\n'
        f'  echo "$CMAKE_ARGS" > "{seen}/cmake_args"\n'
        '  for a in "$@"; do\n'
        f'    [ -f "$a/CMakeLists.txt" ] && cp "$a/CMakeLists.txt" "{seen}/"\n'
        '  done\n'
        '  while [ "$1" != "-w" ]; do shift; done; out="$2"\n'
        f'  cat "{LOG}"\n  {build}\n  exit 0\nfi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    fake.chmod(0o755)
    return fake


def test_the_wheel_script_shows_progress_once_and_is_silent_when_cached(tmp_path: Path) -> None:
    env = {**os.environ, "PEPPERPY_WHEEL_CACHE": str(tmp_path / "wheels")}
    script = [str(ROOT / "tools/llama_wheel.sh"), str(_fake_python(tmp_path, fail=False))]
    first = subprocess.run(["bash", *script], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "once per machine" in first.stdout and "about 2 minutes" in first.stdout
    # only what text generation needs: no multimodal library, no llama.cpp common helpers
    assert "-DLLAVA_BUILD=OFF" in (tmp_path / "seen" / "cmake_args").read_text()
    cmake = (tmp_path / "seen" / "CMakeLists.txt").read_text()
    assert "set(LLAMA_BUILD_COMMON OFF CACHE BOOL" in cmake and "COMMON ON" not in cmake
    assert "llama.cpp: step 5/5 (100%)" in first.stdout
    assert "built in" in first.stdout
    kept = tmp_path / "wheels" / "llama-cpp-python-0.3.36-build.log"
    assert kept.read_text() == LOG.read_text()
    again = subprocess.run(["bash", *script], env=env, capture_output=True, text=True)
    assert (again.returncode, again.stdout) == (0, "")


def test_a_failed_build_exits_1_with_the_log_tail(tmp_path: Path) -> None:
    env = {**os.environ, "PEPPERPY_WHEEL_CACHE": str(tmp_path / "wheels")}
    script = [str(ROOT / "tools/llama_wheel.sh"), str(_fake_python(tmp_path, fail=True))]
    run = subprocess.run(["bash", *script], env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert "the build failed" in run.stderr and "Successfully built tinycap" in run.stderr
