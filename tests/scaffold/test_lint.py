"""`plugin lint` (and `plugin build --check`): each problem an author can make is named."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pepperpy_dev.scaffold import new_plugin
from pepperpy_dev.scaffold.lint import lint_plugin
from pepperpy_dev.scaffold.readme import BEGIN, END, update_readme
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
    update_readme(f)


def _says_no_dependencies(f: Path) -> None:
    _manifest(f, lambda m: m.update({"dependencies": ["packaging>=20"]}))
    update_readme(f)
    (f / "README.md").write_text((f / "README.md").read_text() + "\nNo dependencies.\n")


def _hand_kept_table(f: Path) -> None:
    text = (f / "README.md").read_text()
    (f / "README.md").write_text(text.replace(BEGIN, "").replace(END, ""))


def _unmarked_credential(f: Path) -> None:
    _manifest(f, lambda m: m["config_schema"]["properties"].update(
        {"auth_token": {"type": "string", "description": "token"}}))
    update_readme(f)


CASES = [
    (_no_readme, "README.md: missing"),
    (_undocumented_option, "README.md: the options/dependencies section is out of date"),
    (_bad_default, "the default of 'prefix' does not validate"),
    (_invalid_schema, "config_schema: not a valid JSON Schema"),
    (_open_schema, "additionalProperties"),
    (_undocumented_dependency, "README.md: the options/dependencies section is out of date"),
    (_says_no_dependencies, "says the plugin has no dependencies, but plugin.json lists "
                            "packaging>=20"),
    (_hand_kept_table, "has no generated reference section"),
    (_unmarked_credential, "option 'auth_token' looks like a credential"),
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
    from pepperpy_testing import BundleFactory

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


def test_readme_and_lint_fix_write_the_table_from_the_manifest(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = new_plugin("llm_demo_provider", "llm", out=tmp_path, provider_name="demo")
    _undocumented_option(folder)
    _manifest(folder, lambda m: m.update({"dependencies": ["packaging>=20"]}))
    cmd = [sys.executable, "-m", "pepperpy", "plugin", "lint", str(folder), "--no-resolve"]
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 1
    done = subprocess.run([*cmd, "--fix"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    text = (folder / "README.md").read_text()
    assert "| `shout` | boolean | `false` | `DEMO_SHOUT` |" in text
    assert "- `packaging>=20`" in text and "## Development" in text  # the rest is kept
    again = subprocess.run([sys.executable, "-m", "pepperpy", "plugin", "readme", str(folder)],
                           capture_output=True, text=True)
    assert again.stdout.startswith("unchanged") and (folder / "README.md").read_text() == text


def test_the_openai_compatible_template_passes_its_suite_and_lint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEPPERPY_NO_INDEX", "1")
    cli = [sys.executable, "-m", "pepperpy", "plugin"]
    done = subprocess.run([*cli, "new", "llm_acme_provider", "--category", "llm",
                           "--template", "openai-compatible", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "llm_acme_provider"
    code = (folder / "provider.py").read_text()
    assert "from pepperpy.openai_compatible import OpenAIChatProvider" in code
    assert not list(folder.glob("_openai*"))  # imported from PepperPy, not copied
    assert json.loads((folder / "plugin.json").read_text())["dependencies"] == ["openai>=1.40"]
    assert lint_plugin(folder) == []
    done = subprocess.run([*cli, "test", str(folder), "--wire", "openai", "--feature", "tools",
                           "--feature", "structured_output"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 failed" in done.stdout and "PASS  llm.tools" in done.stdout
    refused = subprocess.run([*cli, "new", "emb_x", "--category", "embeddings",
                              "--template", "openai-compatible", "--out", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "for --category llm" in refused.stderr


def test_a_dependency_not_installed_here_names_the_author_s_commands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source folder is not installed, so `plugin deps NAME` cannot install its needs."""
    monkeypatch.setenv("PEPPERPY_NO_INDEX", "1")
    folder = new_plugin("llm_demo_provider", "llm", out=tmp_path, provider_name="demo")
    _manifest(folder, lambda m: m.update({"dependencies": ["pepperpy-absent-dep>=1"]}))
    update_readme(folder)
    entry = [p for p in lint_plugin(folder) if p.startswith("entry point:")]
    assert len(entry) == 1, entry
    assert ("its dependencies are not installed in this Python (pepperpy-absent-dep>=1); "
            f"for a source folder run `pepperpy plugin test {folder}`") in entry[0]
    assert "pepperpy-absent-dep>=1'`, then lint again" in entry[0]
    assert "plugin deps" not in entry[0]
