"""Keep a conversation in sqlite: earlier turns go with each new question.

    python examples/storage.py

Uses the local model (`make demo` installs it); any installed LLM works instead:
PEPPERPY_EXAMPLE_PROVIDER=openai (with OPENAI_API_KEY; `pepperpy models` lists them).
"""

import asyncio
import os

from pepperpy import PepperPy

PROVIDER = os.environ.get("PEPPERPY_EXAMPLE_PROVIDER", "local")


async def main() -> None:
    app = (
        PepperPy(data_dir="pepperpy_data/examples", conversation_id="storage-example")
        .with_llm(PROVIDER, max_tokens=48)
        .with_storage("sqlite")
    )
    async with app as pepper:
        await pepper.ask("My favourite colour is teal. Please remember it.")
        answer = await pepper.ask("What is my favourite colour?")
        print(answer.content)
        for message in await pepper.history():
            print(f"{message.role.value:>9}: {message.content[:60]}")


if __name__ == "__main__":
    asyncio.run(main())
