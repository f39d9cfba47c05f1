"""Eight processes on one home at once: four install upgrades while four load the
plugin over and over. Every load sees a whole install (old or new, never "tampered"),
and at the end one version is installed, its file is its record, nothing is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from crash import REPO, leftovers, pepperpy

LOADER = """
import json, sys
from pepperpy.core import PepperpyError
from pepperpy.plugins.manager import PluginManager
seen = []
for _ in range(int(sys.argv[1])):
    try:
        seen.append(PluginManager().resolve("llm", "echo").extra["version"])
    except PepperpyError as exc:
        seen.append("error: " + str(exc))
print(json.dumps(seen))
"""


def test_eight_processes_installing_and_loading_in_one_home(home) -> None:
    from pepperpy.plugins.install import _file_digest, installed_path
    from pepperpy.plugins.state import load_state

    bundles = [home.bundle(v) for v in ("1.0.0", "2.0.0", "3.0.0")]
    assert pepperpy(home.home, "plugin", "install", bundles[0]).returncode == 0
    environ = dict(os.environ, PEPPERPY_HOME=str(home.home), PEPPERPY_AUTO_INSTALL="0",
                   PEPPERPY_CHECKOUT_PLUGINS="0",
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    installers = [
        subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from pepperpy.cli import main\n"
             "print([main(['plugin', 'install', '--no-deps', p]) for p in sys.argv[1:]])\n",
             *map(str, bundles[1:])],
            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)]
    loaders = [subprocess.Popen([sys.executable, "-c", LOADER, "15"], env=environ,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    for proc in installers:
        out, err = proc.communicate(timeout=300)
        # 2.0.0 after another process installed 3.0.0 is a refused rollback, not a failure
        codes = out.strip().splitlines()[-1]
        assert codes in ("[0, 0]", "[1, 0]"), (out, err)
        assert codes == "[0, 0]" or "rollback protection" in err, err
    for proc in loaders:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        seen = json.loads(out)
        assert len(seen) == 15 and set(seen) <= {"1.0.0", "2.0.0", "3.0.0"}, seen
    state = load_state(home.settings.state_file)
    assert list(state.plugins) == ["echo"] and state.pending == {}
    assert state.plugins["echo"].version == "3.0.0"
    assert _file_digest(installed_path(home.settings, "echo")) == state.plugins["echo"].digest
    assert sorted(p.name for p in home.settings.plugins_dir.iterdir()) == ["echo.pepperplugin"]
    assert leftovers(home.home) == []
