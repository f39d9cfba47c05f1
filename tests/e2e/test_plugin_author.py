"""`pepperpy plugin new` then `plugin test`, run as real commands in a folder outside
any checkout, with auto-install off and every proxy pointing at a closed port (so a
network access would fail), and the bad inputs the author can give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pepperpy_testing import BundleFactory
from pepperpy_testing.bundles import replace_entry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path):
    env = {**os.environ, "PEPPERPY_HOME": str(tmp_path / "home"), "PEPPERPY_AUTO_INSTALL": "0",
           "PEPPERPY_CHECKOUT_PLUGINS": "0", "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "PYTHONPATH": str(ROOT)}
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pepperpy", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    run.work = work  # type: ignore[attr-defined]
    return run


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("category", ["llm", "embeddings", "rag", "storage", "tools",
                                      "documents", "calendar"])
def test_new_then_test_passes_for_each_category(run, category: str) -> None:
    name = f"{category}_demo_provider"
    created = run("plugin", "new", name, "--category", category)
    assert created.returncode == 0, created.stderr
    folder = run.work / name
    assert created.stdout.strip() == name
    assert {"plugin.json", "provider.py", "README.md", "AGENTS.md",
            f"tests/test_{name}.py"} <= files_under(folder)
    before = files_under(run.work)
    tested = run("plugin", "test", name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert f"({category}/demo)" in tested.stdout
    assert " 0 failed" in tested.stdout and "FAIL" not in tested.stdout
    assert files_under(run.work) == before  # nothing written into or beside the folder


def test_generated_tests_pass_under_pytest(run) -> None:
    run("plugin", "new", "storage_kv_provider", "--category", "storage")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=run.work / "storage_kv_provider", capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "passed" in done.stdout and "failed" not in done.stdout


def test_a_broken_edit_fails_the_named_rule(run) -> None:
    run("plugin", "new", "llm_mute_provider", "--category", "llm")
    provider = run.work / "llm_mute_provider" / "provider.py"
    text = provider.read_text()
    broken = text.replace(
        "        result = await self.generate(messages, options)\n",
        "        return\n        result = await self.generate(messages, options)\n",
    )
    assert broken != text
    provider.write_text(broken)
    tested = run("plugin", "test", "llm_mute_provider")
    assert tested.returncode == 1
    assert "FAIL  llm.stream.yields_chunks" in tested.stdout
    assert "the stream yielded nothing" in tested.stdout and "Fix: " in tested.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["Bad-Name", "--category", "llm"], 1, "invalid plugin name 'Bad-Name'"),
        (["x", "--category", "llm"], 1, "invalid plugin name 'x'"),
        (["llm_ok_provider", "--category", "Vision!"], 1, "invalid category 'Vision!'"),
        (["llm_ok_provider", "--category", "llm", "--provider-name", "Bad Name"], 1,
         "invalid provider name"),
        (["llm_ok_provider", "--category", "llm", "--out", "missing"], 1, "does not exist"),
    ],
    ids=["uppercase", "too-short", "unknown-category", "bad-provider-name", "missing-out"],
)
def test_new_refuses_bad_input_and_writes_nothing(run, args, code, message) -> None:
    done = run("plugin", "new", *args)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert files_under(run.work) == set()


def test_new_refuses_an_existing_folder_and_leaves_it_alone(run) -> None:
    (run.work / "llm_taken_provider").mkdir()
    (run.work / "llm_taken_provider" / "mine.txt").write_text("keep")
    done = run("plugin", "new", "llm_taken_provider", "--category", "llm")
    assert done.returncode == 1 and "already exists" in done.stderr
    assert files_under(run.work) == {"llm_taken_provider", "llm_taken_provider/mine.txt"}


def test_a_provider_whose_import_fails_is_a_clear_error(run) -> None:
    run("plugin", "new", "llm_broken_provider", "--category", "llm")
    provider = run.work / "llm_broken_provider" / "provider.py"
    provider.write_text(provider.read_text() + "\nimport not_a_module_anywhere\n")
    before = files_under(run.work)
    done = run("plugin", "test", "llm_broken_provider")
    assert done.returncode == 1
    assert "not_a_module_anywhere" in done.stderr and "Traceback" not in done.stderr
    assert files_under(run.work) == before


def test_a_bundle_that_does_not_verify_is_refused(run, tmp_path: Path) -> None:
    run("plugin", "new", "llm_signed_provider", "--category", "llm")
    factory = BundleFactory(publisher="stranger")
    data = factory.build_folder(run.work / "llm_signed_provider")
    untrusted = run.work / "llm_signed_provider-0.1.0.pepperplugin"
    untrusted.write_bytes(data)
    done = run("plugin", "test", untrusted.name)
    assert done.returncode == 1 and "trust" in done.stderr.lower()
    factory.trust(tmp_path / "home")  # now trusted: it runs, and then passes
    assert run("plugin", "test", untrusted.name).returncode == 0
    tampered = run.work / "tampered-0.1.0.pepperplugin"
    tampered.write_bytes(replace_entry(data, "provider.py", b"print('owned')\n"))
    done = run("plugin", "test", tampered.name)
    assert done.returncode == 1 and "bundle refused" in done.stderr


def test_bad_config_is_a_clear_error(run) -> None:
    run("plugin", "new", "llm_cfg_provider", "--category", "llm")
    done = run("plugin", "test", "llm_cfg_provider", "--config", "[1]")
    assert done.returncode == 1 and "JSON object" in done.stderr
    done = run("plugin", "test", "llm_cfg_provider", "--config", '{"bogus": 1}')
    assert done.returncode == 1 and "unknown option(s) bogus" in done.stderr
    assert "PASS" not in done.stdout


def test_inspect_shows_the_readme_escaped(run, tmp_path: Path) -> None:
    run("plugin", "new", "llm_doc_provider", "--category", "llm")
    readme = run.work / "llm_doc_provider" / "README.md"
    readme.write_text(readme.read_text() + "\nsneaky \x1b[2J escape\n")
    key, _ = BundleFactory(publisher="me").write_keys(tmp_path / "keys")
    built = run("plugin", "build", "llm_doc_provider", "--key", str(key), "--out", "dist")
    bundle = built.stdout.strip()
    hidden = run("plugin", "inspect", bundle)  # its key is not trusted: text not shown
    assert hidden.returncode == 0 and "sneaky" not in hidden.stdout
    shown = run("plugin", "inspect", bundle, "--unverified")
    assert shown.returncode == 0
    assert "readme (from an unverified bundle):" in shown.stdout
    assert "  | # llm_doc_provider" in shown.stdout
    assert "| `prefix` |" in shown.stdout and "\x1b" not in shown.stdout
    assert "sneaky \\x1b[2J escape" in shown.stdout
    as_json = json.loads(run("plugin", "inspect", bundle, "--unverified", "--json").stdout)
    assert as_json["readme"] == readme.read_text()


@pytest.mark.parametrize(("folder", "wire"), [("llm_anthropic_provider", "anthropic"),
                                              ("embeddings_openai_provider", "openai")])
def test_a_service_plugin_is_tested_against_a_wire_server(run, folder: str, wire: str) -> None:
    args = ["plugin", "test", str(ROOT / "plugin_src" / folder), "--wire", wire]
    if folder.startswith("llm"):
        args += ["--feature", "tools", "--feature", "structured_output"]
    done = run(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  " + folder.split("_")[0] + ".errors.provider_errors" in done.stdout
    assert "sk-conformance" not in done.stdout  # the throwaway key is never printed


def test_plugin_test_feature_tools_fails_a_stream_that_drops_tool_calls(run) -> None:
    """The scaffold's stream carries generate()'s tool calls; the old split-the-text
    stream, which dropped them, fails `llm.tools.stream`."""
    run("plugin", "new", "llm_caller_provider", "--category", "llm")
    provider = run.work / "llm_caller_provider" / "provider.py"
    text = provider.read_text()
    calling = text.replace(
        "        _refuse_unsupported(options, self.provider_name)\n",
        "        if options.tools:\n"
        "            from pepperpy.llm import ToolCall\n"
        "            call = ToolCall('call_1', options.tools[0].name, {'city': 'Paris'})\n"
        "            return GenerationResult(content='', tool_calls=(call,),\n"
        "                                    finish_reason='tool_calls')\n",
    )
    assert calling != text
    provider.write_text(calling)
    tested = run("plugin", "test", "llm_caller_provider", "--feature", "tools")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "PASS  llm.tools.stream" in tested.stdout
    dropping = calling.replace(
        '        yield GenerationChunk(content="", finish_reason=result.finish_reason or "stop",\n'
        "                              tool_calls=result.tool_calls, usage=result.usage)\n",
        "        yield GenerationChunk(content=\"\", finish_reason=\"stop\", usage=result.usage)\n",
    )
    assert dropping != calling
    provider.write_text(dropping)
    tested = run("plugin", "test", "llm_caller_provider", "--feature", "tools")
    assert tested.returncode == 1
    assert "FAIL  llm.tools.stream" in tested.stdout
    assert "carried no tool calls" in tested.stdout
