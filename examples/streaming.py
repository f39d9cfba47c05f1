"""Stream an answer token by token from the local model.

    python examples/streaming.py
"""

import asyncio

from pepperpy import PepperPy


async def main() -> None:
    async with PepperPy().with_llm("local", max_tokens=64) as pepper:
        chunks = 0
        async for chunk in pepper.chat.with_user("Count from one to five.").stream():
            print(chunk.content, end="", flush=True)
            chunks += 1
        print(f"\n[{chunks} chunks]")


if __name__ == "__main__":
    asyncio.run(main())
