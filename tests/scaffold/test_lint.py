"""`plugin lint` (and `plugin build --check`): each problem an author can make is named."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pepperpy.scaffold import new_plugin
from pepperpy.scaffold.lint import lint_plugin
from tests.conftest import PLUGIN_SRC

REPO_PLUGINS = sorted(p.parent.name for p in PLUGIN_SRC.glob("*/plugin.json"))


@pytest.mark.parametrize("folder", REPO_PLUGINS)
def test_every_repo_plugin_passes_lint(folder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEPPERPY_NO_INDEX", "1")  # the installed packages must satisfy it
    assert lint_plugin(PLUGIN_SRC / folder) == []


@pytest.mark.parametrize("category", ["llm", "embeddings", "rag", "storage", "tools",
                                      "calendar"])
def test_a_new_plugin_passes_lint(category: str, tmp_path: Path) -> None:
    assert lint_plugin(new_plugin(f"{category}_fresh_provider", category, out=tmp_path)) == []


def _manifest(folder: Path, change: Callable[[dict], None]) -> None:
    manifest = json.loads((folder / "plugin.json").read_text())
    change(manifest)
    (folder / "plugin.json").write_text(json.dumps(manifest))


def _no_readme(f: Path) -> None:
    (f / "README.md").unlink()


def _undocumented_option(f: Path) -> None:
    _manifest(f, lambda m: m["config_schema"]["properties"].update(
        {"shout": {"type": "boolean", "default": False, "env": "DEMO_SHOUT"}}))


def _bad_default(f: Path) -> None:
    _manifest(f, lambda m: m["config_schema"]["properties"]["prefix"].update({"default": 3}))


def _invalid_schema(f: Path) -> None:
    _manifest(f, lambda m: m["config_schema"]["properties"]["prefix"].update({"type": "text"}))


def _open_schema(f: Path) -> None:
    _manifest(f, lambda m: m["config_schema"].pop("additionalProperties"))


def _undocumented_dependency(f: Path) -> None:
    _manifest(f, lambda m: m.update({"dependencies": ["packaging>=20"]}))


def _not_a_provider(f: Path) -> None:
    (f / "provider.py").write_text("class DemoLLMProvider:\n    pass\n")


def _missing_method(f: Path) -> None:
    text = (f / "provider.py").read_text()
    (f / "provider.py").write_text(text.replace("async def generate_stream(", "async def gs("))


def _import_fails(f: Path) -> None:
    (f / "provider.py").write_text("import not_a_module_anywhere\n")


def _skipped_file(f: Path) -> None:
    (f / "helper.so").write_bytes(b"\0")


def _unresolvable_dependency(f: Path) -> None:
    _manifest(f, lambda m: m.update({"dependencies": ["packaging>=999"]}))
    (f / "README.md").write_text((f / "README.md").read_text() + "\nNeeds packaging.\n")


CASES = [
    (_no_readme, "README.md: missing"),
    (_undocumented_option, "option 'shout' is not documented"),
    (_undocumented_option, "environment variable DEMO_SHOUT"),
    (_bad_default, "the default of 'prefix' does not validate"),
    (_invalid_schema, "config_schema: not a valid JSON Schema"),
    (_open_schema, "additionalProperties"),
    (_undocumented_dependency, "dependency packaging is not mentioned"),
    (_not_a_provider, "is not a LLMProvider subclass"),
    (_missing_method, "does not implement generate_stream"),
    (_import_fails, "not_a_module_anywhere"),
    (_skipped_file, "helper.so: not an allowed file type"),
    (_unresolvable_dependency, "uv cannot resolve"),
]


@pytest.mark.parametrize(("breaks", "problem"), CASES,
                         ids=[f"{c[0].__name__.strip('_')}-{i}" for i, c in enumerate(CASES)])
def test_lint_names_the_problem(
    breaks: Callable[[Path], None], problem: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEPPERPY_NO_INDEX", "1")  # resolution offline: installed packages only
    folder = new_plugin("llm_demo_provider", "llm", out=tmp_path, provider_name="demo")
    breaks(folder)
    problems = lint_plugin(folder)
    assert any(problem in p for p in problems), problems


def test_build_check_refuses_to_build_a_plugin_with_problems(tmp_path: Path) -> None:
    from pepperpy.testing import BundleFactory

    folder = new_plugin("llm_demo_provider", "llm", out=tmp_path)
    (folder / "README.md").unlink()
    key, _ = BundleFactory(publisher="me").write_keys(tmp_path / "keys")
    out = tmp_path / "dist"
    cmd = [sys.executable, "-m", "pepperpy", "plugin", "build", str(folder), "--key", str(key),
           "--out", str(out), "--check"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "README.md: missing" in done.stderr
    assert not out.exists()
    done = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and out.exists()  # without --check it builds
