"""Run a probe script in its own user, mount and network namespace (``unshare``).

The index-wait tests need the real resolver and real sockets under conditions a test
cannot set up on the host: another ``/etc/resolv.conf`` or ``/etc/hosts``, bound over
the real ones only inside the namespace, with the loopback up. The probe prints one
JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_probe(probe: Path, arg: object, binds: dict[str, Path]) -> dict[str, object]:
    """Run ``probe arg`` with each file in ``binds`` mounted over its system path."""
    mounts = "".join(f"mount --bind {src} {dest} && " for dest, src in binds.items())
    script = f"{mounts}ip link set lo up && exec {sys.executable} {probe} {arg}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--net",
                           "sh", "-c", script], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]
