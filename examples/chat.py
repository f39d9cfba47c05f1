"""Chat with the local model (offline, no API key).

    python examples/chat.py

Uses the local model (`make demo` installs it); any installed LLM works instead:
PEPPERPY_EXAMPLE_PROVIDER=openai (with OPENAI_API_KEY; `pepperpy models` lists them).
"""

import asyncio
import os

from pepperpy import PepperPy

PROVIDER = os.environ.get("PEPPERPY_EXAMPLE_PROVIDER", "local")


async def main() -> None:
    async with PepperPy().with_llm(PROVIDER, max_tokens=64) as pepper:
        result = await (
            pepper.chat.with_system("You are a concise assistant.")
            .with_user("Name one use of a lighthouse.")
            .with_temperature(0.1)
            .generate()
        )
        print(result.content)
        print(f"[{result.usage.prompt_tokens} prompt + {result.usage.completion_tokens} tokens]")


if __name__ == "__main__":
    asyncio.run(main())
