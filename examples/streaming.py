"""Stream an answer token by token from the local model.

    python examples/streaming.py

Uses the local model (`make demo` installs it); any installed LLM works instead:
PEPPERPY_EXAMPLE_PROVIDER=openai (with OPENAI_API_KEY; `pepperpy models` lists them).
"""

import asyncio
import os

from pepperpy import PepperPy

PROVIDER = os.environ.get("PEPPERPY_EXAMPLE_PROVIDER", "local")


async def main() -> None:
    async with PepperPy().with_llm(PROVIDER, max_tokens=64) as pepper:
        chunks = 0
        async for chunk in pepper.chat.with_user("Count from one to five.").stream():
            print(chunk.content, end="", flush=True)
            chunks += 1
        print(f"\n[{chunks} chunks]")


if __name__ == "__main__":
    asyncio.run(main())
