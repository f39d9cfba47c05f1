"""`pepperpy plugin test` on a plugin with a dependency: it installs it with uv into the
running Python after saying so, or (with --no-deps) names a command that works."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

from pepperpy.scaffold import new_plugin
from pepperpy.scaffold.readme import update_readme
from plugins.uvenv import child_environ, installed_in_venv, make_venv
from plugins.wheels import build_wheel


def test_plugin_test_installs_the_dependencies_itself(tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    build_wheel(tmp_path / "wheels", "pepperpy-testdep", "1.0")
    folder = new_plugin("llm_needy_provider", "llm", out=tmp_path, provider_name="needy")
    manifest = json.loads((folder / "plugin.json").read_text())
    manifest["dependencies"] = ["pepperpy-testdep>=1.0"]
    (folder / "plugin.json").write_text(json.dumps(manifest))
    update_readme(folder)
    environ = child_environ(SimpleNamespace(home=tmp_path / "home"), tmp_path)
    environ.pop("PEPPERPY_AUTO_INSTALL")
    python = str(venv / "bin" / "python")
    cmd = [python, "-m", "pepperpy", "plugin", "test", str(folder), "--rule", "llm.generate"]

    refused = subprocess.run([*cmd, "--no-deps"], env=environ, capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode == 1
    assert "plugin deps" not in refused.stderr and "PEPPERPY_AUTO_INSTALL" not in refused.stderr
    assert "without --no-deps" in refused.stderr and "uv pip install --python" in refused.stderr
    assert "pepperpy-testdep" not in installed_in_venv(venv)

    done = subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert f"installing its dependencies into this Python ({python}) with uv: " \
           "pepperpy-testdep>=1.0" in done.stderr
    assert installed_in_venv(venv)["pepperpy-testdep"] == "1.0"
    assert "PASS" in done.stdout
