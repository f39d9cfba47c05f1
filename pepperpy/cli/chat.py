"""``pepperpy chat "prompt"``: one prompt from the terminal, streamed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

__all__ = ["register"]


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "chat",
        help="send one prompt to an LLM and stream the answer",
        description=(
            "Send one prompt and stream the answer.\n\n"
            "example: pepperpy chat 'Name three rivers' --provider local\n"
            "         pepperpy chat 'Hi' --provider openai --model gpt-4o-mini"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("prompt", help="what to ask")
    parser.add_argument("--provider", default="local", help="LLM provider (default: local)")
    parser.add_argument("--model", help="model name (default: the provider's)")
    parser.add_argument("--system", help="a system prompt")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument(
        "--option",
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
    return asyncio.run(_chat(args, config))


async def _chat(args: argparse.Namespace, options: dict[str, str]) -> int:
    from pepperpy import PepperPy
    from pepperpy.config import coerce_strings

    app = PepperPy()
    schema = app.registry.load("llm", args.provider).config_schema
    async with app.with_llm(args.provider, **coerce_strings(schema, options)) as pepper:
        chat = pepper.chat
        if args.system:
            chat = chat.with_system(args.system)
        chat = chat.with_user(args.prompt)
        if args.model:
            chat = chat.with_model(args.model)
        if args.temperature is not None:
            chat = chat.with_temperature(args.temperature)
        if args.max_tokens is not None:
            chat = chat.with_max_tokens(args.max_tokens)
        async for chunk in chat.stream():
            sys.stdout.write(chunk.content)
            sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
