"""Commands that only read, or that are refused, leave PEPPERPY_HOME as they found it (a
fresh one is not created, an existing one gains no lock file), give the same answers,
and still never see an install half done: a read without a lock file is read again if
an install started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pepperpy.cli import main
from pepperpy.plugins.install import install_bundle
from pepperpy.plugins.locking import read_again_if_installed, read_lock
from pepperpy.plugins.state import load_state

READERS = [
    (("plugin", "list"), "no plugin bundles found"),
    (("plugin", "list", "--json"), "[]"),
    (("plugin", "doctor"), "0 bundle(s), 0 with problems"),
    (("plugin", "doctor", "--json"), "[]"),
    (("plugin", "deps"), ""),
    (("trust", "list"), "no trusted keys"),
    (("models",), "no LLM provider is installed"),
    (("index", "list"), "no index configured"),
]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mode, p.stat().st_size)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("PEPPERPY_HOME", str(home))
    monkeypatch.setenv("PEPPERPY_CHECKOUT_PLUGINS", "0")
    for name in ("PEPPERPY_PLUGIN_PATH", "PEPPERPY_DEV_PLUGINS", "PEPPERPY_DEV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.mark.parametrize(("argv", "answer"), READERS, ids=lambda a: " ".join(a)
                         if isinstance(a, tuple) else None)
def test_a_read_only_command_creates_no_home(fresh: Path, argv: tuple[str, ...], answer: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(list(argv)) == 0
    out = capsys.readouterr()
    assert answer in out.out and out.err == ""
    assert not fresh.exists()


@pytest.mark.parametrize(("argv", "answer"), READERS, ids=lambda a: " ".join(a)
                         if isinstance(a, tuple) else None)
def test_a_read_only_command_adds_nothing_to_an_existing_home(
        fresh: Path, argv: tuple[str, ...], answer: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    (fresh / "plugins").mkdir(parents=True, mode=0o700)  # a home made by hand, no lock file
    before = _tree(fresh)
    assert main(list(argv)) == 0
    assert answer in capsys.readouterr().out
    assert _tree(fresh) == before


KEY = "0123456789abcdef" * 4
REFUSED = [
    (("plugin", "remove", "openai"), 1, "'openai' is not installed"),
    (("trust", "remove", "nobody"), 1, "'nobody' is not a key id"),
    (("trust", "remove", KEY[:16]), 1, f"no key {KEY[:16]} in the trust store"),
    (("trust", "remove", KEY), 0, f"{KEY} is not in the trust store; nothing to remove"),
    (("trust", "revoke", KEY[:16]), 1, f"no key {KEY[:16]} in the trust store"),
    (("trust", "revoke", KEY), 1, f"no key {KEY} in the trust store"),
    (("index", "remove", "main"), 1, "no index named 'main' (configured: none)"),
]


@pytest.mark.parametrize(("argv", "code", "answer"), REFUSED, ids=lambda a: " ".join(a)
                         if isinstance(a, tuple) else "")
def test_a_refused_or_no_op_change_creates_no_home(
        fresh: Path, argv: tuple[str, ...], code: int, answer: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(list(argv)) == code
    out = capsys.readouterr()
    assert answer in out.out + out.err
    assert not fresh.exists()


def test_an_install_creates_the_home_and_the_readers_then_lock(env, tmp_path: Path) -> None:
    """After the first install the lock file exists, and a reader waits for it again."""
    path = env.write(tmp_path / "downloads", "echo.pepperplugin", env.bundle(env.publisher()))
    install_bundle(path, settings=env.settings)
    assert (env.settings.home / "install.lock").is_file()
    manager = env.manager()
    assert manager.installed("echo").verified.manifest.name == "echo"


def test_a_read_without_a_lock_file_is_read_again_when_an_install_starts(
        env, tmp_path: Path) -> None:
    """The unlocked read of a home with no lock file saw the state before a real install
    that ran meanwhile; it is run again, under the lock, and answers with the install."""
    lock = env.settings.home / "install.lock"
    path = env.write(tmp_path / "downloads", "echo.pepperplugin", env.bundle(env.publisher()))
    assert env.settings.home.exists() and not os.path.lexists(lock)  # trust.json only
    seen: list[list[str]] = []

    @read_again_if_installed
    def installed_names() -> list[str]:
        with read_lock(lock):
            names = sorted(load_state(env.settings.state_file).plugins)
            seen.append(names)
            if len(seen) == 1:  # an install runs between this read and the next one
                install_bundle(path, settings=env.settings)
            return names

    assert installed_names() == ["echo"]
    assert seen == [[], ["echo"]]


def test_a_read_without_a_lock_file_creates_none(tmp_path: Path) -> None:
    lock = tmp_path / "home" / "install.lock"
    with read_lock(lock):
        pass
    assert not (tmp_path / "home").exists()


def test_every_reader_of_the_install_record_reads_again_after_an_install_started() -> None:
    """``read_lock``'s callers: a load's candidates, ``plugin deps NAME``, ``doctor``/``list``
    (an ``InstallStarted`` escaping one of them would reach the user as a traceback)."""
    from pepperpy.plugins import doctor, manager

    readers = [manager.PluginManager.candidates, manager.PluginManager.installed,
               doctor.diagnose]
    assert all(getattr(r, "__wrapped__", None) is not None for r in readers)
    text = Path(manager.__file__).read_text() + Path(doctor.__file__).read_text()
    assert text.count("with self.install_read_lock()") + text.count(
        "with manager.install_read_lock()") == len(readers)
