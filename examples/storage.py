"""Keep a conversation in sqlite: earlier turns go with each new question.

    python examples/storage.py
"""

import asyncio

from pepperpy import PepperPy


async def main() -> None:
    app = (
        PepperPy(data_dir="pepperpy_data/examples", conversation_id="storage-example")
        .with_llm("local", max_tokens=48)
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
