"""``pepperpy chat [PROMPT]``: one prompt from the terminal, streamed, as ``llm`` does it.

The prompt comes from the argument, from stdin (``-`` or a pipe), or both (stdin first,
then the argument, as ``git diff | pepperpy chat 'review this'``). The exchange is kept in
``PEPPERPY_HOME/chat/last.json`` so ``-c/--continue`` can go on with it. Model output is
untrusted text: it passes through :func:`pepperpy.cli.output.terminal_text`, which keeps
line breaks and tabs but escapes control and bidi characters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pepperpy.core import PepperpyError

__all__ = ["register"]

_LAST = "last.json"


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "chat",
        help="send one prompt to an LLM and stream the answer",
        description=(
            "Send one prompt and stream the answer.\n\n"
            "examples:\n"
            "  pepperpy chat 'Name three rivers' --provider local\n"
            "  pepperpy chat 'Hi' --provider openai --model gpt-4o-mini -u\n"
            "  git diff | pepperpy chat 'Review this change' --system 'Be terse.'\n"
            "  pepperpy chat -c 'And a fourth one?'   (continue the last conversation)\n"
            "  pepperpy models   (the installed providers and their default models)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("prompt", nargs="?", help="what to ask; `-` (or a pipe) reads stdin")
    parser.add_argument("--provider", help="LLM provider (default: local, or the one "
                        "the continued conversation used)")
    parser.add_argument("--model", help="model name (default: the provider's)")
    parser.add_argument("-s", "--system", help="a system prompt")
    parser.add_argument("-c", "--continue", dest="cont", action="store_true",
                        help="continue the last conversation (its provider and model too)")
    parser.add_argument("-u", "--usage", action="store_true",
                        help="print token usage on stderr after the answer")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument(
        "-o", "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="provider option, e.g. --option base_url=http://127.0.0.1:8080/v1",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pepperpy.core import ValidationError

    config: dict[str, str] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"--option takes KEY=VALUE, got {item!r}")
        config[key] = value
    prompt = _prompt(args.prompt)
    return asyncio.run(_chat(args, prompt, config))


def _prompt(argument: str | None) -> str:
    """The argument, stdin, or stdin then the argument; a usage error if neither."""
    from pepperpy.core import ValidationError

    terminal = sys.stdin is None or sys.stdin.isatty()
    read = argument == "-" or (argument is None and not terminal) or _piped()
    text = sys.stdin.read() if read and sys.stdin is not None else ""
    if argument not in (None, "-"):
        text = f"{text.rstrip()}\n\n{argument}" if text.strip() else argument
    if not text.strip():
        raise ValidationError("no prompt: give one (`pepperpy chat 'Hi'`), pipe one in "
                              "(`echo Hi | pepperpy chat`), or pass `-` to read stdin")
    return text


def _piped() -> bool:
    """Whether stdin is a pipe or a file with something to read (beside an argument): a
    terminal, /dev/null or a pipe nobody writes to (a CI runner's) is not waited for."""
    import os
    import select
    import stat

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    if stat.S_ISREG(mode):
        return True
    return stat.S_ISFIFO(mode) and bool(select.select([sys.stdin], [], [], 0.5)[0])


def _generation_types(options: dict[str, str]) -> dict[str, Any]:
    """``--option`` values for the options every LLM takes, as their types."""
    from pepperpy.core import ValidationError

    typed: dict[str, Any] = dict(options)
    for key, kind in (("max_tokens", int), ("seed", int), ("temperature", float),
                      ("top_p", float)):
        if key in options:
            try:
                typed[key] = kind(options[key])
            except ValueError:
                raise ValidationError(f"--option {key} takes a number, got "
                                      f"{options[key]!r}") from None
    return typed


def _state_file() -> Path:
    from pepperpy.cli.common import load_settings

    return Path(load_settings().home) / "chat" / _LAST


def _load_last() -> dict[str, Any]:
    from pepperpy.core import ConfigurationError

    path = _state_file()
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise ValueError("not a conversation")
    except FileNotFoundError:
        raise ConfigurationError(
            "there is no conversation to continue yet; start one without -c"
        ) from None
    except ValueError:
        raise ConfigurationError(
            f"{path} is not a saved conversation; delete it and start a new one without -c"
        ) from None
    return data


def _save_last(provider: str, model: str | None, messages: list[Any]) -> None:
    from pepperpy.cli.common import load_settings
    from pepperpy.fsio import atomic_write

    data = {"provider": provider, "model": model, "messages": [m.to_dict() for m in messages]}
    atomic_write(_state_file(), json.dumps(data, indent=1).encode(), mode=0o600,
                 root=Path(load_settings().home))


async def _chat(args: argparse.Namespace, prompt: str, options: dict[str, str]) -> int:
    from pepperpy import PepperPy
    from pepperpy.config import coerce_strings
    from pepperpy.core import PepperpyError
    from pepperpy.llm import Message, MessageRole

    last = _load_last() if args.cont else {}
    provider = args.provider or last.get("provider") or "local"
    model = args.model or (last.get("model") if provider == last.get("provider") else None)
    history = [Message.from_dict(m) for m in last.get("messages", [])]
    if args.system:
        history = [m for m in history if m.role != MessageRole.SYSTEM]
        history.insert(0, Message(MessageRole.SYSTEM, args.system))
    history.append(Message(MessageRole.USER, prompt))
    app = PepperPy()
    schema = app.registry.load("llm", provider).config_schema
    options = _generation_types(options)
    try:
        answer, usage = await _stream(app.with_llm(provider, **coerce_strings(schema, options)),
                                      args, history, model)
    except PepperpyError as exc:
        _add_flag_form(exc)
        raise
    history.append(Message(MessageRole.ASSISTANT, "".join(answer)))
    _save_last(provider, model, history)
    if args.usage:
        shown = (f"{usage.prompt_tokens} input, {usage.completion_tokens} output, "
                 f"{usage.total_tokens} total" if usage else "not reported by the provider")
        print(f"usage: {shown} token(s)", file=sys.stderr)
    return 0


def _add_flag_form(exc: PepperpyError) -> None:
    """An error whose fix is a provider option gets the form this command takes."""
    if exc.options and exc.args:
        flags = " ".join(f"-o {name}=..." for name in exc.options)
        exc.args = (f"{exc.args[0]}; with `pepperpy chat`, pass {flags}", *exc.args[1:])


async def _stream(app: Any, args: argparse.Namespace, history: list[Any],
                  model: str | None) -> tuple[list[str], Any]:
    """Stream the answer to the terminal; its parts and the usage reported."""
    from pepperpy.cli.output import terminal_text

    answer: list[str] = []
    usage = None
    async with app as pepper:
        chat = pepper.chat.with_messages(history)
        if model:
            chat = chat.with_model(model)
        if args.temperature is not None:
            chat = chat.with_temperature(args.temperature)
        if args.max_tokens is not None:
            chat = chat.with_max_tokens(args.max_tokens)
        async for chunk in chat.stream():
            answer.append(chunk.content)
            usage = chunk.usage or usage
            sys.stdout.write(terminal_text(chunk.content))
            sys.stdout.flush()
    sys.stdout.write("\n")
    return answer, usage
