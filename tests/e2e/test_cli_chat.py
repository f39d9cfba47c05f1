"""`pepperpy chat`: one prompt from the terminal, streamed, through signed plugins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.servers.fixtures import openai_server  # noqa: F401


def pepperpy(*args: str, env: dict[str, str],
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pepperpy", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
        input=stdin, stdin=subprocess.DEVNULL if stdin is None else None,
    )


def _openai(server) -> list[str]:
    return ["--provider", "openai", "--model", "gpt-test",
            "--option", f"base_url={server.url}/v1", "--option", "api_key=sk-cli",
            "--option", "timeout=20"]


def test_chat_streams_from_an_openai_compatible_server(plugin_env, openai_server) -> None:  # noqa: F811
    done = pepperpy(
        "chat", "Say hello", "--provider", "openai", "--model", "gpt-test",
        "--system", "Be brief.",
        "--option", f"base_url={openai_server.url}/v1", "--option", "api_key=sk-cli",
        "--option", "timeout=20",
        env=plugin_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    body = openai_server.last().body
    assert body["stream"] is True and body["model"] == "gpt-test"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


@pytest.mark.slow
def test_chat_with_the_local_model(plugin_env) -> None:
    done = pepperpy("chat", "Name a colour.", "--max-tokens", "16", env=plugin_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_chat_errors_are_one_line(plugin_env) -> None:
    done = pepperpy("chat", "hi", "--provider", "nope", env=plugin_env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("pepperpy: error: ")
    assert "Traceback" not in done.stderr
    done = pepperpy("chat", "hi", "--provider", "openai", env={**plugin_env, "OPENAI_API_KEY": ""})
    assert done.returncode == 1 and "OPENAI_API_KEY" in done.stderr
    done = pepperpy("chat", "hi", "--option", "nokeyvalue", env=plugin_env)
    assert done.returncode == 1 and "KEY=VALUE" in done.stderr
    done = pepperpy("chat", "--no-such-flag", env=plugin_env)
    assert done.returncode == 2


def test_chat_output_escapes_control_and_bidi_characters(plugin_env, openai_server) -> None:  # noqa: F811
    hostile = "line one\nline two\x1b]0;owned\x07 \u202egnp.exe\u200b\tend"
    done = pepperpy("chat", hostile, *_openai(openai_server), env=plugin_env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\u200b" not in out
    assert "\\x1b]0;owned\\x07" in out and "\\u202egnp.exe\\u200b" in out
    assert "line one\nline two" in out and "\tend" in out  # layout kept


def test_demo_answer_is_escaped(capsys) -> None:
    from tools.demo import show_answer

    show_answer("Q?", "a\x1b[2Jb\u2066c\nd", ["x\x1b.md"], 0.1)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u2066" not in out
    assert "a\\x1b[2Jb\\u2066c\nd" in out and "x\\x1b.md" in out


def test_chat_reads_stdin_continues_and_reports_usage(
        plugin_env, openai_server, tmp_path) -> None:  # noqa: F811
    import json
    import shutil

    home = tmp_path / "home"
    shutil.copytree(plugin_env["PEPPERPY_HOME"], home)
    env = {**plugin_env, "PEPPERPY_HOME": str(home)}
    done = pepperpy("chat", "-", *_openai(openai_server), "-u", env=env, stdin="from a pipe")
    assert done.returncode == 0, done.stderr
    assert "Echo: from a pipe" in done.stdout
    assert "usage:" in done.stderr and "total token(s)" in done.stderr
    done = pepperpy("chat", *_openai(openai_server), env=env, stdin="only stdin")
    assert done.returncode == 0 and "Echo: only stdin" in done.stdout
    done = pepperpy("chat", "the question", *_openai(openai_server), env=env,
                    stdin="the context")
    assert done.returncode == 0, done.stderr
    assert openai_server.last().body["messages"][-1]["content"] == (
        "the context\n\nthe question")
    done = pepperpy("chat", "first", *_openai(openai_server), "--system", "Be brief.",
                    env=env)
    assert done.returncode == 0, done.stderr
    # -c: the provider, model and options come back; only the options must be repeated
    done = pepperpy("chat", "-c", "second", "--option", f"base_url={openai_server.url}/v1",
                    "--option", "api_key=sk-cli", env=env)
    assert done.returncode == 0, done.stderr
    sent = openai_server.last().body
    assert sent["model"] == "gpt-test"
    assert [(m["role"], m["content"]) for m in sent["messages"]] == [
        ("system", "Be brief."), ("user", "first"), ("assistant", "Echo: first"),
        ("user", "second")]
    saved = json.loads((home / "chat" / "last.json").read_text())
    assert saved["provider"] == "openai" and len(saved["messages"]) == 5
    assert "sk-cli" not in (home / "chat" / "last.json").read_text()


def test_chat_without_prompt_or_conversation_is_one_line(plugin_env, tmp_path) -> None:
    env = {**plugin_env, "PEPPERPY_HOME": str(tmp_path / "empty")}
    done = pepperpy("chat", env=env)
    assert done.returncode == 1 and "no prompt" in done.stderr
    done = pepperpy("chat", "-c", "more", env=env)
    assert done.returncode == 1 and "no conversation to continue" in done.stderr
    assert done.stderr.count("\n") == 1


def test_models_lists_installed_llm_providers(plugin_env) -> None:
    import json

    done = pepperpy("models", "--json", env=plugin_env)
    assert done.returncode == 0, done.stderr
    rows = {r["provider"]: r for r in json.loads(done.stdout)}
    assert rows["openai"]["plugin"] == "llm_openai_provider"
    assert rows["openai"]["default_model"] == "gpt-4o-mini"
    assert "anthropic" in rows and "local" in rows
    done = pepperpy("models", env=plugin_env)
    assert done.returncode == 0 and "gpt-4o-mini" in done.stdout


def test_a_missing_or_rejected_key_names_the_forms_for_where_the_user_is(
        plugin_env, openai_server) -> None:  # noqa: F811
    done = pepperpy("chat", "hi", "--provider", "openai", env={**plugin_env, "OPENAI_API_KEY": ""})
    assert done.returncode == 1
    assert done.stderr.endswith(
        "missing required option(s) api_key; pass api_key=... or set the environment variable "
        "OPENAI_API_KEY; with `pepperpy chat`, pass -o api_key=...\n"), done.stderr
    assert done.stderr.count("\n") == 1
    rejected = ["--provider", "openai", "--model", "error-401",
                "-o", f"base_url={openai_server.url}/v1", "-o", "api_key=sk-wrong"]
    done = pepperpy("chat", "hi", *rejected, env=plugin_env)
    assert done.returncode == 1
    assert done.stderr.endswith("check OPENAI_API_KEY or pass api_key=...; with `pepperpy "
                                "chat`, pass -o api_key=...\n"), done.stderr
    assert "sk-wrong" not in done.stderr


def test_the_library_s_message_gives_the_python_form_only(plugin_env) -> None:
    code = ("from pepperpy import PepperPy\n"
            "try:\n    PepperPy().with_llm('openai')\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc.options, exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **plugin_env, "OPENAI_API_KEY": ""}, timeout=300)
    assert done.stdout.startswith("ValidationError ('api_key',) "), done.stdout + done.stderr
    assert "pass api_key=... or set the environment variable OPENAI_API_KEY" in done.stdout
    assert "-o " not in done.stdout and "pepperpy chat" not in done.stdout
