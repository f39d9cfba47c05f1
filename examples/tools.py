"""Let the model call a Python function (needs a tool-capable provider).

    OPENAI_API_KEY=sk-... python examples/tools.py
    # any OpenAI-compatible server: OPENAI_BASE_URL=http://127.0.0.1:8080/v1
    # another tool-capable provider: PEPPERPY_EXAMPLE_PROVIDER=anthropic (the local
    # model cannot call tools, so this example defaults to openai)
"""

import asyncio
import os

from pepperpy import PepperPy


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"It is 21 degrees and sunny in {city}."


async def main() -> None:
    provider = os.environ.get("PEPPERPY_EXAMPLE_PROVIDER", "openai")
    async with PepperPy().with_llm(provider) as pepper:
        result = await (
            pepper.chat.with_user("What's the weather in Lisbon?")
            .with_tools([get_weather])
            .generate()
        )
        print(result.content)


if __name__ == "__main__":
    asyncio.run(main())
