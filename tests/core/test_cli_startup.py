"""`pepperpy --help` imports no command group; a command imports only its own group."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from typing import Any, TypedDict, cast

import pytest

from pepperpy.cli import _GROUPS, build_parser, installed_commands

PROBE = """
import contextlib, io, json, sys
from pepperpy.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main({argv!r})
    except SystemExit as exit:
        code = exit.code
print(json.dumps({{"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}}))
"""


class Run(TypedDict):
    """What the probe reports: the exit code, stdout and every module imported."""

    code: int | str | None
    out: str
    modules: list[str]


def _run(argv: list[str], home: str) -> Run:
    env = {"PEPPERPY_HOME": home, "PEPPERPY_CHECKOUT_PLUGINS": "0", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True, text=True, check=True, env=env,
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


COMMANDS = installed_commands()  # the checkout installs all three distributions' commands
GROUP_MODULES = {ep.module for eps in COMMANDS.values() for ep in eps}


def test_help_lists_every_command_without_importing_one(tmp_path: object) -> None:
    run = _run(["--help"], str(tmp_path))
    assert run["code"] == 0
    for name in _GROUPS:
        assert f"    {name}" in str(run["out"])
    loaded = set(run["modules"])
    assert not loaded & GROUP_MODULES
    assert "asyncio" not in loaded
    # the groups are read from the dist-info folders (pepperpy.cli.groups_found): no
    # importlib.metadata (email, zipfile), and so no shutil either
    assert not loaded & (NOT_AT_START | {"importlib.metadata", "zipfile", "email"})


def test_plugin_list_imports_only_its_own_command_module(tmp_path: object) -> None:
    """The core's own listing takes no entry point scan (it costs more than listing a
    thousand unchanged bundles) and no other group's modules."""
    run = _run(["plugin", "list", "--json"], str(tmp_path))
    assert run["code"] == 0
    assert json.loads(str(run["out"])) is not None
    loaded = set(run["modules"])
    assert loaded & GROUP_MODULES == {"pepperpy.cli.manage"}
    assert "pepperpy.cli.chat" not in loaded and "pepperpy_dev.cli.repo" not in loaded
    assert "importlib.metadata" not in loaded and "tuf.ngclient" not in loaded
    assert "dataclasses" not in loaded and "inspect" not in loaded  # rows are records


@pytest.mark.parametrize("name", list(_GROUPS))
def test_the_lazy_help_line_is_the_group_s_own(name: str) -> None:
    """The one-line help shown without importing a group is the one it registers."""

    def helps(parser: object) -> dict[str, str]:
        groups = parser._subparsers._group_actions[0]  # type: ignore[attr-defined]
        return {a.dest: a.help for a in groups._choices_actions}

    assert helps(build_parser([]))[name] == helps(build_parser())[name]
    assert helps(build_parser([name]))[name] == helps(build_parser())[name]


OWN = [("plugin install", "manage"), ("plugin update", "index"), ("plugin list", "manage"),
       ("plugin remove", "manage"), ("plugin deps", "manage"), ("plugin doctor", "manage"),
       ("plugin search", "index"), ("plugin outdated", "index"), ("plugin verify", "bundle"),
       ("trust add", "trust"), ("index add", "index"), ("rag remove", "rag"),
       ("chat", "chat"), ("models", "models")]


@pytest.mark.parametrize("command, module", OWN, ids=[c for c, _ in OWN])
def test_the_runtime_s_own_commands_import_only_their_own_module(
        tmp_path: object, command: str, module: str) -> None:
    """No entry point scan (``importlib.metadata`` alone is about 18 ms of imports) and
    no other distribution's command modules for the runtime's own commands: they are
    never taken from elsewhere (a no-change update costs less than that scan did)."""
    run = _run([*command.split(), "--help"], str(tmp_path))
    assert run["code"] == 0 and f"usage: pepperpy {command}" in str(run["out"])
    loaded = set(run["modules"])
    assert loaded & GROUP_MODULES == {f"pepperpy.cli.{module}"}
    assert "importlib.metadata" not in loaded


# What a command's start never needs: the help width without shutil (and its bz2,
# lzma), the install machinery and OpenSSL on a no-change update, datetime for limits.
NOT_AT_START = {"shutil", "bz2", "lzma"}


@pytest.mark.parametrize("argv", [["plugin", "list", "--json"], ["plugin", "install", "--help"],
                                  ["plugin", "update", "--help"],
                                  ["plugin", "verify", "--help"]])
def test_no_command_imports_shutil_for_the_help_width(tmp_path: object,
                                                      argv: list[str]) -> None:
    run = _run(argv, str(tmp_path))
    assert run["code"] == 0
    assert not NOT_AT_START & set(run["modules"])


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A home with a file:// index (verified once in full) and its plugin installed."""
    from pepperpy.bundle.keys import generate_key
    from pepperpy.cli import main
    from pepperpy.distribution.fetch import Session, add_index
    from pepperpy.settings import Settings
    from pepperpy_testing.bundles import BundleFactory

    root = tmp_path_factory.mktemp("indexed")
    factory = BundleFactory(publisher="acme")
    bundle = root / "sample-1.0.0.pepperplugin"
    bundle.write_bytes(factory.build(factory.files(manifest={
        "name": "sample", "provider_name": "sample", "entry_point": "sample_pkg:Provider"})))
    key = generate_key(publisher="index", out_dir=root / "keys").private_path
    publisher = ["--publisher-key", str(factory.write_keys(root / "keys")[1])]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["repo", "init", str(root / "repo"), "--key", str(key)]) == 0
        assert main(["repo", "add", str(root / "repo"), str(bundle), "--key", str(key),
                     *publisher]) == 0
    settings = Settings(home=root / "home", auto_install=False, checkout_plugins=False)
    factory.trust(settings.home)
    add_index(settings, "main", (root / "repo").as_uri(),
              root / "repo" / "metadata" / "1.root.json")
    Session(settings).install("sample", deps=False)
    return str(settings.home)


def test_a_no_change_update_imports_neither_install_nor_openssl(indexed_home: str) -> None:
    """Nothing pending, index unchanged: the quick refresh, without the install
    machinery (only a crashed install needs it: ``state.needs_settling``), OpenSSL
    (the metadata files are small) or ``datetime``."""
    run = _run(["plugin", "update", "--no-deps"], indexed_home)
    assert run["code"] == 0 and "everything is up to date" in str(run["out"])
    loaded = set(run["modules"])
    assert "pepperpy.distribution.unchanged" in loaded and "tuf.ngclient" not in loaded
    assert not loaded & (NOT_AT_START | {"pepperpy.plugins.install", "_hashlib", "datetime"})


def test_help_width_is_shutil_s(tmp_path: object) -> None:
    """``columns()`` gives what ``shutil.get_terminal_size`` gives, from COLUMNS, a
    terminal of any width, or neither (a pipe), and argparse's help is the same text."""
    import os
    import pty
    import struct
    import termios

    probe = ("import shutil, sys; from pepperpy.cli.parser import columns; "
             "print(columns(), shutil.get_terminal_size().columns, file=sys.stderr)")
    seen = set()
    for env_columns in (None, "50", "0", "-3", "wide", "300"):
        for width in (None, 33, 120):
            env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
            if env_columns is not None:
                env["COLUMNS"] = env_columns
            out = subprocess.PIPE
            leader = follower = None
            if width is not None:
                leader, follower = pty.openpty()
                fcntl_size = struct.pack("HHHH", 24, width, 0, 0)
                import fcntl

                fcntl.ioctl(follower, termios.TIOCSWINSZ, fcntl_size)
                out = follower
            done = subprocess.run([sys.executable, "-c", probe], stdout=out,
                                  stderr=subprocess.PIPE, env=env, text=True, check=True)
            for fd in (leader, follower):
                if fd is not None:
                    os.close(fd)
            ours, theirs = done.stderr.split()
            assert ours == theirs, (env_columns, width)
            seen.add(int(ours))
    assert {80, 50, 33, 120, 300} <= seen


@pytest.mark.parametrize("columns", ["34", "80", "200"])
def test_every_help_text_is_argparse_s_own(monkeypatch: pytest.MonkeyPatch,
                                           columns: str) -> None:
    """Each parser's help, with the width filled in, equals the same parser's help
    formatted by the formatter class it was given (argparse's own width rule)."""
    import argparse
    import copy

    monkeypatch.setenv("COLUMNS", columns)
    pending = [build_parser()]
    checked = 0
    while pending:
        parser = pending.pop()
        stock = copy.copy(parser)
        stock.formatter_class = cast(Any, parser.formatter_class).__mro__[2]  # (_Sized, given)
        assert parser.format_help() == stock.format_help()
        assert parser.format_usage() == stock.format_usage()
        checked += 1
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending += action.choices.values()
    assert checked > 30


def test_the_shortcuts_name_what_the_runtime_s_entry_points_name() -> None:
    """The modules the shortcuts import are the ones the runtime's own entry points
    register (so a command reads the same with or without the scan)."""
    from pepperpy.cli import _OWN_GROUPS, _OWN_PLUGIN_COMMANDS, RUNTIME

    own = {ep.name: ep.value for eps in COMMANDS.values() for ep in eps
           if ep.dist is not None and ep.dist.name == RUNTIME}
    assert {g: f"{m}:register" for g, m in _OWN_GROUPS.items()} == {
        n: v for n, v in own.items() if "." not in n}
    plugin_modules = {v.split(":")[0] for n, v in own.items() if n.startswith("plugin.")}
    assert set(_OWN_PLUGIN_COMMANDS.values()) == plugin_modules
