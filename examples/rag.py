"""Answer questions over your own files, citing sources (offline).

    python examples/rag.py

Uses the local model (`make demo` installs it); any installed LLM works instead:
PEPPERPY_EXAMPLE_PROVIDER=openai (with OPENAI_API_KEY; `pepperpy models` lists them).
"""

import asyncio
import os
from pathlib import Path

from pepperpy import PepperPy

PROVIDER = os.environ.get("PEPPERPY_EXAMPLE_PROVIDER", "local")

CORPUS = Path(__file__).parent / "corpus"


async def main() -> None:
    app = (
        PepperPy(data_dir="pepperpy_data/examples")
        .with_llm(PROVIDER, max_tokens=80)
        .with_embeddings("local")
        .with_rag("chroma", collection="examples")
    )
    async with app as pepper:
        await pepper.rag.add_files(sorted(CORPUS.glob("*.md")))
        hits = await pepper.rag.search("lighthouse height", k=1)
        print(f"best match: {hits[0].document.metadata['source']} ({hits[0].score:.2f})")
        answer = await pepper.rag.ask("How tall is the Quillon Harbor lighthouse?", k=2)
        print(answer.content)
        print("sources:", [s.document.metadata["source"] for s in answer.sources])


if __name__ == "__main__":
    asyncio.run(main())
