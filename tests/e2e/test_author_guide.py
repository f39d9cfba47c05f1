"""The plugin author guide, held to the code: the example plugin is what `plugin new`
writes (plus the guide's edit), passes `plugin test` and its own pytest, and the
guide's test file and rule tables match the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pepperpy import PepperPy, Settings
from pepperpy.scaffold import plugin_files
from pepperpy.testing import BundleFactory
from pepperpy.testing.conformance import rules_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "third_party_plugin" / "llm_shout_provider"
GUIDE = (ROOT / "docs" / "plugin-author-guide.md").read_text()


async def test_shout(tmp_path: Path) -> None:
    """Applications use the example plugin like any other, from a signed bundle."""
    factory = BundleFactory(publisher="example")
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "llm_shout_provider-1.0.0.pepperplugin").write_bytes(factory.build_folder(EXAMPLE))
    home = tmp_path / "home"
    factory.trust(home)
    settings = Settings(home=home, dev_mode=True, plugin_path=(dist,), auto_install=False)
    async with PepperPy(settings=settings).with_llm("shout") as pepper:
        result = await pepper.chat.with_user("hello").generate()
    assert result.content == "HELLO!"


def test_example_has_exactly_the_files_plugin_new_writes() -> None:
    generated = set(plugin_files("llm_shout_provider", "llm", provider_name="shout"))
    present = {str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert present == generated


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEPPERPY_AUTO_INSTALL": "0",
           "PYTHONDONTWRITEBYTECODE": "1"}  # nothing written into the example
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_example_passes_plugin_test_and_its_own_tests(tmp_path: Path) -> None:
    done = _run("-m", "pepperpy", "plugin", "test", str(EXAMPLE), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed" in done.stdout
    done = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=EXAMPLE)
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_guide_shows_the_example_test_file_as_it_is() -> None:
    test_file = (EXAMPLE / "tests" / "test_llm_shout_provider.py").read_text()
    assert f"```python\n{test_file}```" in GUIDE


def test_the_guide_lists_every_rule_and_no_other() -> None:
    named = set(re.findall(
        r"`((?:llm|embeddings|rag|storage|tools|documents|\*)\.[a-z_.]+)`", GUIDE))
    for category in ("llm", "embeddings", "rag", "storage", "tools", "documents"):
        for rule in rules_for(category):
            generic = "*." + rule.id.split(".", 1)[1]
            assert rule.id in named or generic in named, rule.id
    known = {r.id for c in ("llm", "embeddings", "rag", "storage", "tools", "documents")
             for r in rules_for(c)}
    for name in named:
        pattern = re.escape(name).replace(r"\*", r"[a-z]+")
        assert any(re.fullmatch(pattern, k) for k in known), f"the guide names {name}"
