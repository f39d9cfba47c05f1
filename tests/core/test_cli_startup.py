"""`pepperpy --help` imports no command group; a command imports only its own group."""

from __future__ import annotations

import json
import subprocess
import sys

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


def _run(argv: list[str], home: str) -> dict[str, object]:
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
    loaded = set(run["modules"])  # type: ignore[arg-type]
    assert not loaded & GROUP_MODULES
    assert "asyncio" not in loaded


def test_plugin_list_imports_only_its_own_command_module(tmp_path: object) -> None:
    """The core's own listing takes no entry point scan (it costs more than listing a
    thousand unchanged bundles) and no other group's modules."""
    run = _run(["plugin", "list", "--json"], str(tmp_path))
    assert run["code"] == 0
    assert json.loads(str(run["out"])) is not None
    loaded = set(run["modules"])  # type: ignore[arg-type]
    assert loaded & GROUP_MODULES == {"pepperpy.cli.manage"}
    assert "pepperpy.cli.chat" not in loaded and "pepperpy_dev.cli.repo" not in loaded
    assert "importlib.metadata" not in loaded and "tuf.ngclient" not in loaded


@pytest.mark.parametrize("name", list(_GROUPS))
def test_the_lazy_help_line_is_the_group_s_own(name: str) -> None:
    """The one-line help shown without importing a group is the one it registers."""

    def helps(parser: object) -> dict[str, str]:
        groups = parser._subparsers._group_actions[0]  # type: ignore[attr-defined]
        return {a.dest: a.help for a in groups._choices_actions}

    assert helps(build_parser([]))[name] == helps(build_parser())[name]
    assert helps(build_parser([name]))[name] == helps(build_parser())[name]


@pytest.mark.parametrize("command, module", [("install", "pepperpy.cli.manage"),
                                             ("update", "pepperpy.cli.index"),
                                             ("list", "pepperpy.cli.manage")])
def test_plugin_install_and_update_import_only_their_own_module(
        tmp_path: object, command: str, module: str) -> None:
    """No entry point scan and no other distribution's command modules for the core's
    own install and update (a no-change update costs less than that scan did)."""
    run = _run(["plugin", command, "--help"], str(tmp_path))
    assert run["code"] == 0 and f"usage: pepperpy plugin {command}" in str(run["out"])
    loaded = set(run["modules"])  # type: ignore[arg-type]
    assert loaded & GROUP_MODULES == {module}
