"""From `pip install` to an answer, outside the checkout, as the README's "Install" says.

Only the runtime wheel of the rehearsal (``make dist``) goes into a fresh virtual
environment in an empty folder; its index is served on loopback and added with its
pinned root; ``plugin install openai`` verifies the bundle and installs the openai SDK with
real uv; the README's snippet then talks to a server speaking OpenAI's protocol. And the
same with ``PEPPERPY_AUTO_FETCH=1`` and no install step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pepperpy.testing.wire.openai import OpenAIServer
from tests.support.index_server import IndexServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Say hello in five words."


def readme_snippet() -> str:
    """The first Python block of the README's "Install" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "the README's Install section has no Python snippet"
    return found.group(1)


class App:
    """A fresh virtual environment in an empty folder, with only the runtime wheel."""

    def __init__(self, folder: Path, wheel: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        folder.mkdir()
        subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True)
        self.bin = folder / ".venv" / "bin"
        self.run(self.bin / "pip", "install", "--quiet", wheel)

    def run(self, *argv: object, extra: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(a) for a in argv], cwd=self.folder, text=True,
                              capture_output=True, env={**self.env, **(extra or {})},
                              timeout=600, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{argv} exited {done.returncode}:\n{done.stdout}\n"
                                 f"{done.stderr}")
        return done

    def pepperpy(self, *argv: object, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(self.bin / "pepperpy", *argv, check=check)


@pytest.fixture(scope="module")
def servers(release: dict[str, Path]) -> Iterator[tuple[IndexServer, OpenAIServer]]:
    index = IndexServer(release["index"])
    wire = OpenAIServer().start()
    try:
        yield index, wire
    finally:
        wire.stop()
        index.close()


def _env(tmp: Path, wire: OpenAIServer) -> dict[str, str]:
    """What a user's shell has: no PepperPy variables of the checkout, its own home."""
    keep = ("PATH", "HOME", "LANG", "PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT",
            "PEPPERPY_FIND_LINKS", "UV_CACHE_DIR", "SSL_CERT_FILE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    return {**env, "PEPPERPY_HOME": str(tmp / "home"), "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": f"{wire.url}/v1"}


def _answer(app: App, extra: dict[str, str] | None = None) -> str:
    (app.folder / "app.py").write_text(readme_snippet(), encoding="utf-8")
    return app.run(app.bin / "python", "app.py", extra=extra).stdout.strip()


def test_install_the_runtime_add_the_index_install_openai_and_get_an_answer(
    tmp_path: Path, release: dict[str, Path], servers: tuple[IndexServer, OpenAIServer],
) -> None:
    index, wire = servers
    wheel = next(p for name, p in release.items() if name.startswith("pepperplug-"))
    app = App(tmp_path / "app", wheel, _env(tmp_path, wire))
    assert app.run(app.bin / "python", "-c", "import openai", check=False).returncode != 0
    _check_the_runtime_alone(app)

    added = app.pepperpy("index", "add", "rehearsal", index.url, "--root", release["root"],
                         "--trust-publishers")
    assert "added index rehearsal" in added.stdout
    app.pepperpy("plugin", "install", "openai", "--category", "llm")
    app.run(app.bin / "python", "-c", "import openai")  # installed by uv, after verification

    assert _answer(app) == f"Echo: {QUESTION}"
    assert wire.last("/v1/chat/completions").body["model"] == "gpt-4o-mini"


def test_the_same_with_auto_fetch_and_no_install_step(
    tmp_path: Path, release: dict[str, Path], servers: tuple[IndexServer, OpenAIServer],
) -> None:
    index, wire = servers
    wheel = next(p for name, p in release.items() if name.startswith("pepperplug-"))
    app = App(tmp_path / "app", wheel, _env(tmp_path, wire))
    app.pepperpy("index", "add", "rehearsal", index.url, "--root", release["root"],
                 "--trust-publishers")

    assert _answer(app, {"PEPPERPY_AUTO_FETCH": "1"}) == f"Echo: {QUESTION}"
    listed = app.pepperpy("plugin", "list", "--json").stdout
    assert "llm_openai_provider" in listed


def _check_the_runtime_alone(app: App) -> None:
    """Every module the runtime ships imports without the other distributions, and a
    command of one of them names it."""
    walk = ("import importlib, pkgutil, pepperpy\n"
            "for m in pkgutil.walk_packages(pepperpy.__path__, 'pepperpy.'):\n"
            "    if m.name != 'pepperpy.__main__':\n"
            "        importlib.import_module(m.name)\n")
    app.run(app.bin / "python", "-c", walk)
    # a plugin's dependencies may not move what the installed runtime needs (and only that)
    protected = ("from pepperpy.plugins.constraints import protected_distributions as p\n"
                 "found = p({})\n"
                 "assert 'pepperplug' in found and 'pip' not in found, sorted(found)\n"
                 "assert found['cryptography'].needed_by[0].startswith('the PepperPy core')\n")
    app.run(app.bin / "python", "-c", protected)
    listed = " ".join(app.pepperpy("--help").stdout.split())
    assert "needs pepperplug-dev" in listed and "from a source checkout" in listed
    missing = app.pepperpy("plugin", "new", "llm_x", "--category", "llm", check=False)
    assert missing.returncode == 1
    assert "pip install pepperplug-dev==" in missing.stderr
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    tested = app.pepperpy("plugin", "test", "some_folder", check=False)
    assert tested.returncode == 1 and "pepperplug-testing" in tested.stderr
