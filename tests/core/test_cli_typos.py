"""A mistyped option is reported by the command it was given to: that command's usage
line, the closest option it (or the top level) takes, and where to see them all; exit 2,
and nothing runs."""

from __future__ import annotations

import pytest

from pepperpy.cli import main


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    assert stopped.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err.strip().splitlines()


@pytest.mark.parametrize(("argv", "command", "hint"), [
    (["rag", "add", "kb/", "--colection", "quillon"], "pepperpy rag add",
     "--colection: did you mean --collection?"),
    (["rag", "remove", "kb/", "--colection=quillon"], "pepperpy rag remove",
     "--colection: did you mean --collection?"),
    (["plugin", "list", "--jsn"], "pepperpy plugin list", "--jsn: did you mean --json?"),
    (["chat", "hi", "--temprature", "0.2"], "pepperpy chat",
     "--temprature: did you mean --temperature?"),
    (["--debg", "models"], "pepperpy models", "--debg: did you mean --debug?"),
])
def test_a_mistyped_option_is_named_with_the_closest_one(
        capsys: pytest.CaptureFixture[str], argv: list[str], command: str, hint: str) -> None:
    lines = _usage_error(capsys, *argv)
    assert lines[0].startswith(f"usage: {command} "), lines
    assert lines[-1].startswith(f"{command}: error: unrecognized arguments: "), lines
    assert f"({hint})" in lines[-1], lines
    assert lines[-1].endswith(f"`{command} --help` lists what it takes"), lines


def test_an_extra_argument_without_a_close_option_gets_no_guess(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = _usage_error(capsys, "models", "--json", "extra")
    assert lines[0] == "usage: pepperpy models [-h] [--json]", lines
    assert lines[-1] == ("pepperpy models: error: unrecognized arguments: extra; "
                         "`pepperpy models --help` lists what it takes"), lines
