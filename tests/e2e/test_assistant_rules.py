"""AGENTS.md and .cursor/rules/ stay true: every path they name exists, every
`pepperpy ...` command they name is a real subcommand, every `make` target exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pepperpy.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = [ROOT / "AGENTS.md", *sorted((ROOT / ".cursor" / "rules").glob("*.mdc"))]
SPANS = re.compile(r"`([^`]+)`")


def test_the_three_cursor_rules_exist() -> None:
    names = {p.stem for p in RULE_FILES[1:]}
    assert names == {"file-structure", "plugin-development", "dependency-management"}


def _paths(text: str) -> list[str]:
    found = []
    for span in SPANS.findall(text):
        word = span.split()[0]
        if "/" in word and not word.startswith(("http", "pepperpy.")) and "*" not in word:
            found.append(word.rstrip(".,"))
        elif re.fullmatch(r"[\w.-]+\.(py|md|toml|json|mdc)", word) and word != "plugin.json":
            found.append(word)
    return found


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _is_command(words: list[str]) -> bool:
    parser = build_parser()
    for word in words:
        if word.startswith("-") or word.isupper() or not word.isidentifier():
            break
        choices = _subcommands(parser)
        if not choices:
            break
        if word not in choices:
            return False
        parser = choices[word]
    return True


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_named_path_exists(path: Path) -> None:
    text = path.read_text()
    for name in _paths(text):
        candidate = name.replace("<name>", "llm_openai_provider").replace("NAME", "")
        candidate = candidate.rstrip("/")
        hits = [ROOT / candidate, *(ROOT / "pepperpy").glob(candidate),
                *(ROOT / "packages").glob(f"*/*/{candidate}")]  # pepperpy_dev, _testing
        if "/" not in candidate:  # a bare file name: a core module or a plugin's file
            hits += [*ROOT.glob(f"plugin_src/*/{candidate}")]
        assert any(h.exists() for h in hits), f"{path.name} names {name}, which does not exist"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_named_command_exists(path: Path) -> None:
    text = " ".join(path.read_text().split())  # commands may wrap across lines
    commands = [s for s in SPANS.findall(text) if s.startswith(("pepperpy ", "make "))]
    assert commands, f"{path.name} names no command"
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    for command in commands:
        words = command.split()
        if words[0] == "make":
            assert words[1] in targets, f"{path.name}: no make target {words[1]}"
        else:
            assert _is_command(words[1:]), f"{path.name}: `{command}` is not a command"
