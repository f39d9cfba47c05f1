"""Get a validated pydantic object back instead of text (local model, offline).

    python examples/structured_output.py

Uses the local model (`make demo` installs it); any installed LLM works instead:
PEPPERPY_EXAMPLE_PROVIDER=openai (with OPENAI_API_KEY; `pepperpy models` lists them).
"""

import asyncio
import os

from pydantic import BaseModel

from pepperpy import PepperPy

PROVIDER = os.environ.get("PEPPERPY_EXAMPLE_PROVIDER", "local")


class Landmark(BaseModel):
    name: str
    city: str
    year_built: int


async def main() -> None:
    async with PepperPy().with_llm(PROVIDER, max_tokens=96) as pepper:
        result = await (
            pepper.chat.with_system("Answer in JSON.")
            .with_user("The Eiffel Tower is in Paris and was built in 1889. Describe it.")
            .with_schema(Landmark)
            .generate()
        )
        landmark: Landmark = result.parsed
        print(landmark)


if __name__ == "__main__":
    asyncio.run(main())
