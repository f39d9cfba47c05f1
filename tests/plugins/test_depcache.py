"""The memo of met dependency checks: a hit skips the check, and any change to what the
answer rested on (a distribution removed, downgraded, its METADATA edited, another
folder on sys.path, a zip, a memo damaged) runs the full check again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pepperpy.core import DependencyError
from pepperpy.plugins import depcache, distindex
from pepperpy.plugins.dependencies import DependencySpec, ensure_dependencies
from pepperpy.settings import Settings
from plugins.test_distindex import _dist
from plugins.uvenv import (
    PROJECT_SITE,
    REPO,
    child_environ,
    installed_in_venv,
    make_venv,
    site_packages,
)
from plugins.wheels import build_wheel

EXTRA = 'Requires-Dist: pepperpy-fake-extra>=2; extra == "fast"\n'
SPEC = DependencySpec("fake", ("pepperpy-fake-main[fast]>=1",))


def _main(site: Path, *, requires: str = EXTRA) -> Path:
    info = _dist(site, "pepperpy_fake_main-1.0", name="pepperpy-fake-main", version="1.0")
    with open(info / "METADATA", "a") as handle:
        handle.write(requires)
    return info


def _remove(info: Path) -> None:
    for child in info.iterdir():
        child.unlink()
    info.rmdir()


def _keep_mtime(folder: Path):
    """Put ``folder``'s mtime back as it was (a clock that did not move): only the
    ctime, which no tool can set, still tells the change."""
    st = os.stat(folder)
    return lambda: os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    monkeypatch.setattr(depcache, "_RACY_NS", 0)  # the racy window has its own test
    distindex.invalidate()
    yield folder
    distindex.invalidate()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", auto_install=False)


def _hit(settings: Settings, spec: DependencySpec = SPEC) -> bool:
    env = depcache.environment()
    return env is not None and depcache.remembered(settings, env, spec.needs())


def _check(settings: Settings, spec: DependencySpec = SPEC) -> None:
    distindex.invalidate()
    ensure_dependencies(spec, settings=settings, auto_install=False)


def _entries(settings: Settings) -> dict:
    path = depcache.memo_path(settings)
    return json.loads(path.read_text())["entries"] if path.exists() else {}


def test_a_met_check_is_remembered_with_the_metadata_it_read(site, settings):
    main = _main(site)
    _dist(site, "pepperpy_fake_extra-2.0", name="pepperpy-fake-extra", version="2.0")
    assert not _hit(settings)
    _check(settings)
    [witnesses] = _entries(settings).values()
    assert [w[0] for w in witnesses] == [str(main), str(main / "METADATA")]
    assert _hit(settings)
    assert not _hit(settings, DependencySpec("fake", ("pepperpy-fake-main>=1",)))  # other lines


@pytest.mark.parametrize("change", ["uninstall the extra's dependency", "downgrade it",
                                    "uninstall the distribution"])
def test_a_change_after_the_memo_is_caught(site, settings, change):
    main = _main(site)
    extra = _dist(site, "pepperpy_fake_extra-2.0", name="pepperpy-fake-extra", version="2.0")
    _check(settings)
    assert _hit(settings)
    restore = _keep_mtime(site)
    if change == "uninstall the distribution":
        _remove(main)
        expected = "pepperpy-fake-main[fast]>=1 (not installed)"
    else:
        _remove(extra)
        expected = "pepperpy-fake-extra>=2 (not installed)"
        if change == "downgrade it":
            _dist(site, "pepperpy_fake_extra-1.0", name="pepperpy-fake-extra", version="1.0")
            expected = "pepperpy-fake-extra>=2 (found 1.0)"
    restore()
    assert not _hit(settings)
    with pytest.raises(DependencyError) as info:
        _check(settings)
    assert expected in str(info.value)


def test_metadata_edited_in_place_is_caught(site, settings):
    main = _main(site)
    _dist(site, "pepperpy_fake_extra-2.0", name="pepperpy-fake-extra", version="2.0")
    _check(settings)
    restore = _keep_mtime(main / "METADATA")
    with open(main / "METADATA", "a") as handle:  # same file, same folder entries
        handle.write('Requires-Dist: pepperpy-surely-absent>=1; extra == "fast"\n')
    restore()
    assert not _hit(settings)
    with pytest.raises(DependencyError, match="pepperpy-surely-absent>=1 \\(not installed\\)"):
        _check(settings)


def test_a_folder_added_to_sys_path_is_another_environment(site, settings, tmp_path,
                                                             monkeypatch):
    _main(site)
    _dist(site, "pepperpy_fake_extra-2.0", name="pepperpy-fake-extra", version="2.0")
    _check(settings)
    front = tmp_path / "front"
    _dist(front, "pepperpy_fake_extra-1.0", name="pepperpy-fake-extra", version="1.0")
    monkeypatch.setattr(sys, "path", [str(front), *sys.path])
    assert not _hit(settings)
    with pytest.raises(DependencyError, match=r"found 1\.0"):
        _check(settings)


def test_an_unmet_check_is_never_remembered(site, settings):
    _main(site)
    with pytest.raises(DependencyError):
        _check(settings)
    assert _entries(settings) == {}


def test_a_folder_changed_just_now_is_not_remembered(site, settings, monkeypatch):
    monkeypatch.setattr(depcache, "_RACY_NS", 2_000_000_000)
    _main(site)
    _dist(site, "pepperpy_fake_extra-2.0", name="pepperpy-fake-extra", version="2.0")
    _check(settings)
    assert _entries(settings) == {}


def test_an_answer_from_importlib_metadata_is_not_remembered(site, settings):
    _dist(site, "pepperpy_fake_main-1.0-py3.11", name="pepperpy-fake-main", version="1.0",
          suffix=".egg-info")
    _check(settings, DependencySpec("fake", ("pepperpy-fake-main>=1",)))
    assert _entries(settings) == {}


def test_a_zip_on_sys_path_turns_the_memo_off(site, settings, tmp_path, monkeypatch):
    archive = tmp_path / "deps.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert depcache.environment() is None
    _main(site)
    _dist(site, "pepperpy_fake_extra-2.0", name="pepperpy-fake-extra", version="2.0")
    _check(settings)
    assert _entries(settings) == {}


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 1, "entries": []}',
                                    b'{"format": 1, "entries": {"%s": [["/", 1]]}}', b"[]"])
def test_a_damaged_memo_is_a_miss_and_is_rewritten(site, settings, damage):
    _main(site)
    _dist(site, "pepperpy_fake_extra-2.0", name="pepperpy-fake-extra", version="2.0")
    _check(settings)
    key = next(iter(_entries(settings)))
    path = depcache.memo_path(settings)
    path.write_bytes(damage.replace(b"%s", key.encode()))
    assert not _hit(settings)
    _check(settings)
    assert _hit(settings)


# -- real uv in a throwaway venv ------------------------------------------------------

CHILD = textwrap.dedent("""
    import json, sys
    from pepperpy.core import PepperpyError
    from pepperpy.plugins.dependencies import DependencySpec, ensure_dependencies
    from pepperpy.settings import Settings
    try:
        ensure_dependencies(DependencySpec("echo", ("pepperpy-testdep>=1",)),
                            settings=Settings.from_env(), auto_install=False)
        out = {"ok": True}
    except PepperpyError as exc:
        out = {"ok": False, "message": str(exc)}
    out["checked"] = "pepperpy.plugins.distindex" in sys.modules  # the full check ran
    print(json.dumps(out))
""")


def _settle(venv: Path) -> None:
    """Wait until the child's sys.path folders are older than the memo's racy window."""
    changed = max(os.stat(f).st_ctime_ns for f in (site_packages(venv), REPO, PROJECT_SITE))
    time.sleep(max(0.0, (changed + depcache._RACY_NS - time.time_ns()) / 1e9 + 0.05))


def test_real_uv_downgrade_and_uninstall_after_the_memo_are_caught(tmp_path):
    import uv

    venv = make_venv(tmp_path / "venv")
    build_wheel(tmp_path / "wheels", "pepperpy-testdep", "1.0")
    build_wheel(tmp_path / "wheels", "pepperpy-testdep", "0.5")
    python = str(venv / "bin" / "python")

    def pip(*args: str) -> None:
        options = ["--offline", "--no-index", "--find-links", str(tmp_path / "wheels")]
        subprocess.run([uv.find_uv_bin(), "pip", args[0], "--python", python, "--no-config",
                        *(options if args[0] == "install" else []), *args[1:]],
                       check=True, capture_output=True, timeout=120,
                       env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")})

    def child() -> dict:
        settings = Settings(home=tmp_path / "home")
        environ = child_environ(settings, tmp_path, {"PEPPERPY_AUTO_INSTALL": "0"})
        done = subprocess.run([python, "-P", "-c", CHILD], cwd=tmp_path, env=environ,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    pip("install", "pepperpy-testdep==1.0")
    _settle(venv)
    assert child() == {"ok": True, "checked": True}  # checked, then remembered
    assert child() == {"ok": True, "checked": False}  # the memo answered
    pip("install", "pepperpy-testdep==0.5")
    assert installed_in_venv(venv)["pepperpy-testdep"] == "0.5"
    _settle(venv)
    downgraded = child()
    assert not downgraded["ok"] and downgraded["checked"]
    assert "pepperpy-testdep>=1 (found 0.5)" in downgraded["message"]
    pip("uninstall", "pepperpy-testdep")
    removed = child()
    assert not removed["ok"] and "pepperpy-testdep>=1 (not installed)" in removed["message"]
