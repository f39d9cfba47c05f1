"""The main job: answer questions over a small corpus, fully offline.

Steps, each said out loud: make (once) a local development publisher key and trust
it; build the repo's ``plugin_src`` folders into signed bundles (only those missing
or older than their sources); verify every bundle; let the plugin manager install
dependencies with uv (llama-cpp-python may build from source: that is allowed here
by name, and said); then answer questions with the local LLM, local embeddings,
embedded chroma and sqlite history, printing each answer with its sources (the corpus
holds Markdown, a PDF and a Word document: PDF sources are cited with their page). A second
run rebuilds, reinstalls and re-embeds nothing, and the providers start concurrently:
it is ready for the first question in about two seconds (bench/bench_demo.py).

Each step is one function (key, bundles, verification, publishing to a loopback index
and installing by name, questions), so a step can be swapped or added without
touching the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pepperpy.core import ConfigurationError
from pepperpy.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pepperpy.ingest import IngestProgress

__all__ = ["QUESTIONS", "run_demo"]

DEV_PUBLISHER = "pepperpy-dev"
#: (question, the source that holds the answer, its page for a PDF)
QUESTIONS: tuple[tuple[str, str, int | None], ...] = (
    ("When does the Pão de Ló bakery open?", "bakery-hours.md", None),
    ("How tall is the Quillon Harbor lighthouse?", "harbor-lighthouse.md", None),
    ("When does the Velna River Festival take place?", "river-festival.md", None),
    ("When does the ferry to Osk Island leave?", "quillon-guide.pdf", 2),
    ("How much does a small plot in the community garden cost per year?",
     "community-garden.docx", None),
)
SOURCE_BUILDS = frozenset({"llama-cpp-python"})


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def find_checkout() -> Path:
    """The PepperPy source checkout this package was imported from (it holds
    ``plugin_src/``, which the demo builds, signs with a key it trusts, and runs).

    Only the package's own source tree counts, never a folder found from the working
    directory: a ``pyproject.toml`` claiming ``name = "pepperpy"`` above the current
    folder must not get its ``plugin_src/`` signed and trusted.
    """
    from pepperpy.plugins.discovery import is_pepperpy_project

    root = Path(__file__).resolve().parent.parent
    if is_pepperpy_project(root / "pyproject.toml") and (root / "plugin_src").is_dir():
        return root
    raise ConfigurationError(
        "pepperpy demo runs from a PepperPy source checkout (it builds plugin_src/), and "
        f"this PepperPy is installed from {root}; clone the repository and run `make demo` "
        "there"
    )


def ensure_dev_key(settings: Settings) -> Path:
    """Create the local development publisher key once, and trust it, out loud."""
    from pepperpy.bundle.keys import generate_key
    from pepperpy.bundle.trust import TrustStore

    key_dir = settings.home / "keys"
    private = key_dir / f"{DEV_PUBLISHER}.key"
    public = key_dir / f"{DEV_PUBLISHER}.pub"
    if private.exists() != public.exists():
        raise ConfigurationError(
            f"only one of {private.name} and {public.name} exists in {key_dir}; "
            "remove the other to create a fresh development key"
        )
    if not private.exists():
        made = generate_key(publisher=DEV_PUBLISHER, out_dir=key_dir)
        say(
            f"created a local development publisher key {made.key_id[:16]} in {key_dir} "
            "(private key mode 0600; it never leaves this machine)"
        )
    store = TrustStore(settings.trust_file)
    before = {k.key_id for k in store.list()}
    record = store.add(public.read_bytes(), publisher=DEV_PUBLISHER)
    if record.key_id not in before:
        say(f"trusting {DEV_PUBLISHER} ({record.key_id[:16]}) in {settings.trust_file}")
    if record.revoked:
        raise ConfigurationError(
            f"the development key {record.key_id[:16]} is revoked in {settings.trust_file}; "
            f"remove {key_dir} and the key's entry to start over"
        )
    return private


def ensure_bundles(repo: Path, key_path: Path, settings: Settings) -> list[Path]:
    """Build plugin folders whose bundle is missing, stale, or signed by another key."""
    from pepperpy.bundle.build import build_bundle
    from pepperpy.bundle.keys import load_signing_key
    from pepperpy.trust.manifest import parse_manifest

    out_dir = repo / "dist_plugins"
    key = load_signing_key(key_path)
    bundles = []
    for src in sorted(p.parent for p in (repo / "plugin_src").glob("*/plugin.json")):
        manifest = parse_manifest((src / "plugin.json").read_bytes())
        target = out_dir / f"{manifest.name}-{manifest.version}.pepperplugin"
        if not _fresh(src, target, key.key_id, settings):
            started = time.perf_counter()
            target = build_bundle(src, key=key, out_dir=out_dir, force=True).path
            say(f"built {target.name} in {time.perf_counter() - started:.2f}s")
        _remove_older_builds(out_dir, manifest.name, keep=target)
        bundles.append(target)
    return bundles


def _remove_older_builds(out_dir: Path, name: str, *, keep: Path) -> None:
    """Other versions of a plugin the demo builds: two would offer the same provider."""
    for old in out_dir.glob(f"{name}-*.pepperplugin"):
        version = old.name[len(name) + 1 : -len(".pepperplugin")]
        if old != keep and version and "-" not in version:
            old.unlink()
            say(f"removed {old.name} (replaced by {keep.name})")


def _fresh(src: Path, target: Path, key_id: str, settings: Settings) -> bool:
    from pepperpy.bundle.build import list_files

    if not target.exists():
        return False
    inputs = [path for _, path in list_files(src)[0]]  # with the ../_shared/ modules
    newest = max(p.stat().st_mtime for p in [*src.rglob("*"), *inputs] if p.is_file())
    if newest > target.stat().st_mtime:
        return False
    return _signed_by(target, key_id, settings)


def _signed_by(path: Path, key_id: str, settings: Settings) -> bool:
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.core import TrustError
    from pepperpy.trust.gate import verify_bundle

    try:
        verified = verify_bundle(path.read_bytes(), TrustStore(settings.trust_file).snapshot())
    except TrustError:
        return False
    return verified.key_id == key_id


def verify_all(bundles: list[Path], settings: Settings) -> None:
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.trust.gate import verify_bundle

    snapshot = TrustStore(settings.trust_file).snapshot()
    for path in bundles:
        verified = verify_bundle(path.read_bytes(), snapshot, path=str(path))
        m = verified.manifest
        say(f"verified {m.name} {m.version} ({m.category}/{m.provider_name}), "
            f"signed by {verified.publisher} {verified.key_id[:16]}")


def install_from_loopback_index(bundles: list[Path], key: Path, settings: Settings) -> Settings:
    """The distribution path, offline: publish the bundles to a local TUF index, serve it
    on 127.0.0.1, install every plugin by name from it; then load only installed copies."""
    from pepperpy.distribution.loopback import publish_and_install

    publish_and_install(bundles, key, settings, say=say)
    return dataclasses.replace(settings, checkout_plugins=False)


async def answer_questions(repo: Path, settings: Settings, *, started: float) -> int:
    from pepperpy.pepperpy import PepperPy

    say("loading providers: llm=local, embeddings=local, rag=chroma, storage=sqlite, "
        "documents=pdf/docx/html/markdown "
        "(first run installs their dependencies with uv)")
    app = (
        # One conversation per run: the questions are independent, and a history that
        # grows run after run would not fit the small local model's context window.
        PepperPy(
            settings=settings,
            data_dir=settings.home / "demo-data",
            conversation_id=f"demo-{time.strftime('%Y%m%d-%H%M%S')}",
        )
        .with_llm("local", max_tokens=96, temperature=0.1)
        .with_embeddings("local")
        .with_rag("chroma", collection="demo")
        .with_storage("sqlite")
    )
    async with app as pepper:
        corpus = repo / "examples" / "corpus"
        before = await pepper.rag.count()
        began = time.perf_counter()
        progress: list[IngestProgress] = []
        await pepper.rag.add_files([corpus], progress=progress.append)
        added = await pepper.rag.count() - before
        say(f"knowledge base: {progress[-1].files_done} files from {corpus.name}/ (Markdown, "
            f"PDF, Word), {added} new chunks embedded in {time.perf_counter() - began:.2f}s "
            f"({before} already stored)")
        say(f"ready for the first question {time.perf_counter() - started:.1f}s after start")
        right = 0
        for question, expected, page in QUESTIONS:
            asked = time.perf_counter()
            answer = await pepper.ask(question, k=1)
            found = [r.document.metadata for r in answer.sources]
            right += bool(found) and (found[0].get("source"), found[0].get("page")) == (
                expected, page)
            show_answer(question, answer.content, [_cite(m) for m in found],
                        time.perf_counter() - asked)
    print(f"\n{right}/{len(QUESTIONS)} questions retrieved the right source first.")
    return 0 if right == len(QUESTIONS) else 1


def show_answer(question: str, content: str, sources: list[str], seconds: float) -> None:
    """Print one answer: the model's text and the sources' names are untrusted, so
    control and bidi characters are escaped (line breaks kept)."""
    from pepperpy.cli.output import printable, terminal_text

    print(f"\nQ: {question}\nA: {terminal_text(content.strip())}")
    print(f"   sources: {printable(', '.join(sources))}  ({seconds:.1f}s)")


def _cite(metadata: Mapping[str, object]) -> str:
    """``file.pdf p.2`` for a page, ``file.docx (Heading > Sub)`` for a section."""
    cited = str(metadata.get("source", "?"))
    if metadata.get("page") is not None:
        return f"{cited} p.{metadata['page']}"
    if metadata.get("headings"):
        return f"{cited} ({metadata['headings']})"
    return cited


def run_demo(settings: Settings | None = None) -> int:
    """Run the whole main job; returns the exit code."""
    began = time.perf_counter()
    settings = settings or Settings.from_env()
    extra = SOURCE_BUILDS - settings.allow_source_builds
    if extra:
        say(f"allowing a source build of {', '.join(sorted(extra))} only, and only if no "
            "cached wheel is found (PyPI has none); "
            "every other dependency installs from wheels")
        settings = dataclasses.replace(
            settings, allow_source_builds=settings.allow_source_builds | extra
        )
    repo = find_checkout()
    say(f"PepperPy home: {settings.home}")
    key = ensure_dev_key(settings)
    bundles = ensure_bundles(repo, key, settings)
    verify_all(bundles, settings)
    settings = install_from_loopback_index(bundles, key, settings)
    code = asyncio.run(answer_questions(repo, settings, started=began))
    print(f"(done in {time.perf_counter() - began:.1f}s)", file=sys.stderr)
    return code
