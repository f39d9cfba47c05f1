"""Distribution costs nothing until used: no tuf, securesystemslib or urllib3 at import."""

from __future__ import annotations

import json
import subprocess
import sys


def test_core_registry_and_cli_parser_do_not_import_tuf() -> None:
    code = ("import sys, json, pepperpy, pepperpy.registry, pepperpy.cli; "
            "pepperpy.cli.build_parser(); print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded = set(json.loads(out.stdout))
    assert [m for m in ("tuf", "securesystemslib", "urllib3") if m in loaded] == []
