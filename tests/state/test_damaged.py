"""Each state file empty, truncated, garbled, a folder, a dangling link, a link to
/dev/zero, 200 MB or 100,000 brackets deep: every command gives one line naming the
file (or, for a cache, rebuilds it quietly), within 2 s and 100 MB, changes nothing on
disk, and a revoked key stays revoked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from crash import pepperpy

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
COMMANDS = ("list", "load", "install", "trust-add", "doctor", "index-list", "search")

# state file (relative to the home) -> the commands that read it and so must refuse
STATE_FILES = {
    "trust.json": {"list", "load", "install", "trust-add", "doctor"},
    "installed.json": {"list", "load", "install", "doctor"},
    "indexes/indexes.json": {"index-list", "search"},
    "indexes/main/root.json": {"search"},
    "indexes/main/metadata/timestamp.json": set(),  # ngclient's cache: refetched
    "dependencies.json": set(),  # read only when something must be installed
}
CACHES = ("verified.json", "cache/index.json")  # rebuilt quietly
REFETCHED = {"indexes/main/metadata/timestamp.json"}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A home with a trusted and a revoked key, echo installed, an index added."""
    from state_conftest_helpers import build_home

    return build_home(tmp_path_factory.mktemp("damaged"))


def _child(prepared: dict[str, Path], relative: str, work: Path) -> dict:
    environ = dict(os.environ, PEPPERPY_AUTO_INSTALL="0", PEPPERPY_CHECKOUT_PLUGINS="0",
                   PEPPERPY_INDEX_TIMEOUT="5",
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, str(HERE / "damage_child.py"), str(prepared["home"]), str(work),
         relative, str(prepared["pub"]), str(prepared["bundle"])],
        env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("relative", sorted(STATE_FILES))
def test_damaged_state_file_is_refused_by_name(prepared, tmp_path: Path,
                                               relative: str) -> None:
    results = _child(prepared, relative, tmp_path)
    assert results["max_rss_mb"] < 100, results["max_rss_mb"]
    for key, outcome in results.items():
        if key == "max_rss_mb":
            continue
        how, command = key.split("/")
        if command == "unchanged":  # ngclient's cache is refetched: not a user's state
            assert outcome or relative in REFETCHED, f"{relative} {how}: changed on disk"
            continue
        assert outcome["seconds"] < 2, (key, outcome)
        errors = [line for line in outcome["err"].splitlines()
                  if line.startswith("pepperpy: error")]
        if command in STATE_FILES[relative]:
            assert outcome["code"] == 1, (key, outcome)
        if outcome["code"] != 0:
            assert len(errors) == 1, (key, outcome)
            assert Path(relative).name in errors[0] and "Traceback" not in outcome["err"], (
                key, outcome)
            assert ".tmp" not in errors[0], (key, outcome)
    _revoked_key_stays_revoked(prepared, tmp_path, relative)


@pytest.mark.parametrize("relative", CACHES)
def test_damaged_cache_is_rebuilt_quietly(prepared, tmp_path: Path, relative: str) -> None:
    results = _child(prepared, relative, tmp_path)
    assert results["max_rss_mb"] < 100, results["max_rss_mb"]
    for key, outcome in results.items():
        if key == "max_rss_mb" or key.endswith("/unchanged"):
            continue
        assert outcome["code"] == 0 and outcome["seconds"] < 2, (key, outcome)


def _revoked_key_stays_revoked(prepared, tmp_path: Path, relative: str) -> None:
    """Whatever was damaged, the revoked key is refused: a damaged trust store trusts
    nothing, and its backup (the fix the error names) still holds the revocation."""
    from pepperpy.bundle.trust import TrustStore

    for home in tmp_path.iterdir():
        if not home.is_dir():
            continue
        listed = pepperpy(home, "trust", "list", "--json")
        if relative == "trust.json":
            assert listed.returncode == 1 and "trust.json" in listed.stderr
            assert "trust.json.bak" in listed.stderr  # the fix names the backup
            store = TrustStore(home / "trust.json.bak")
        else:
            assert listed.returncode == 0, listed.stderr
            store = TrustStore(home / "trust.json")
        key = store.snapshot().get(prepared["revoked_id"].read_text())
        assert key is not None and key.revoked, home
