"""How often the demo's local model writes a right answer, over sampling seeds.

    python tools/demo_answers.py [--seeds 8] [--temperatures 0.1,0]

Needs a home where ``make demo`` has run (``PEPPERPY_HOME``, default the checkout's
``.pepperpy-demo``): it reuses its installed plugins and knowledge base, and writes
nothing there. For each temperature and each of two ways to ask (``one conversation``:
each question sees the earlier questions and answers, as ``make demo`` asks them;
``separate``: each question alone) it asks the demo's five questions through
``pepper.rag.ask`` (``k=1``, ``max_tokens=96``), once per seed, and counts per question
how many seeds gave an answer holding the fact the right source states (``7:30``,
``41 metres``, ...). The sources are checked as the demo checks them.

Why: one seed is one draw. A change to the prompt, the chunking or the settings that
makes one question right at seed 42 is only a fix if it holds across seeds; with
SmolLM2-135M most answers flip from seed to seed (docs/performance.md, "The demo's
answers").
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))  # demo.py beside this file

from demo import QUESTIONS  # noqa: E402

#: What a right answer to each of ``QUESTIONS`` says, in the words of its source.
FACTS: tuple[Callable[[str], bool], ...] = (
    lambda a: "7:30" in a,
    lambda a: re.search(r"\b41 met", a) is not None,
    lambda a: "last weekend of June" in a,
    lambda a: "7:40" in a and "16:10" in a,
    lambda a: "30 crowns" in a and "square" not in a,
)


async def one_run(settings: object, seed: int, temperature: float, *, history: bool
                  ) -> tuple[list[bool], int]:
    """Right answers for one seed, and how many answers cited the right source first."""
    from pepperpy.llm import Message, MessageRole
    from pepperpy.pepperpy import PepperPy

    home = settings.home  # type: ignore[attr-defined]
    app = (PepperPy(settings=settings, data_dir=home / "demo-data")
           .with_llm("local", max_tokens=96, temperature=temperature, seed=seed)
           .with_embeddings("local")
           .with_rag("chroma", collection="demo"))
    right, sources, earlier = [], 0, []
    async with app as pepper:
        for (question, source, page), fact in zip(QUESTIONS, FACTS, strict=True):
            answer = await pepper.rag.ask(question, k=1, history=earlier)
            first = answer.sources[0].document.metadata if answer.sources else {}
            sources += (first.get("source"), first.get("page")) == (source, page)
            right.append(fact(answer.content))
            if history:
                earlier += [Message(MessageRole.USER, question),
                            Message(MessageRole.ASSISTANT, answer.content)]
    return right, sources


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--temperatures", default="0.1,0")
    args = parser.parse_args()
    from pepperpy.settings import Settings

    os.environ.setdefault("PEPPERPY_HOME", str(ROOT / ".pepperpy-demo"))
    settings = dataclasses.replace(Settings.from_env(), checkout_plugins=False,
                                   auto_install=False)
    if not (settings.home / "demo-data").is_dir():
        print(f"run `make demo` first: {settings.home} has no demo knowledge base")
        return 1
    seeds = [42, *range(1, args.seeds)]
    print(f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); per question, the seeds "
          "whose answer holds the source's fact")
    for temperature in (float(t) for t in args.temperatures.split(",")):
        for history in (True, False):
            began = time.perf_counter()
            counts, all_right, cited = [0] * len(QUESTIONS), 0, 0
            for seed in seeds:
                right, sources = asyncio.run(one_run(settings, seed, temperature,
                                                     history=history))
                counts = [c + r for c, r in zip(counts, right, strict=True)]
                all_right += all(right)
                cited += sources
            how = "one conversation" if history else "separate"
            print(f"T={temperature:<4} {how:<17} per question {counts} of {len(seeds)}; "
                  f"all five right in {all_right} of {len(seeds)}; right sources "
                  f"{cited} of {len(seeds) * len(QUESTIONS)} ({time.perf_counter() - began:.0f}s)",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
