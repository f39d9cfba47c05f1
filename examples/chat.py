"""Chat with the local model (offline, no API key).

    python examples/chat.py
"""

import asyncio

from pepperpy import PepperPy


async def main() -> None:
    async with PepperPy().with_llm("local", max_tokens=64) as pepper:
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
