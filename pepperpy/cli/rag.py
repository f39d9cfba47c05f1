"""``pepperpy rag add PATH...``: fill a knowledge base from files and folders."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from pepperpy.cli.output import printable

if TYPE_CHECKING:
    from pepperpy import PepperPy
    from pepperpy.ingest import IngestProgress

__all__ = ["register"]


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "rag", help="add files and folders to a knowledge base, or remove them",
        description="Work with a knowledge base (vector store) from the terminal.")
    commands = parser.add_subparsers(dest="rag_command", metavar="SUBCOMMAND")
    commands.required = True
    add = commands.add_parser(
        "add",
        help="add files and folders (PDF, Word, HTML, Markdown, text) to a knowledge base",
        description=(
            "Read files and folders (recursive, hidden names skipped) with the installed "
            "documents loaders, embed them and store them. Progress and every skipped "
            "file go to stderr; the number of chunks goes to stdout.\n\n"
            "example: pepperpy rag add reports/ notes.docx --store chroma --collection reports"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("paths", nargs="+", help="files and folders")
    _store_options(add, embeddings=True)
    add.add_argument("--strict", action="store_true",
                     help="add nothing if any file cannot be read")
    add.add_argument("--prune", action="store_true",
                     help="then delete the chunks of files no longer in the folders given")
    add.set_defaults(func=run_add)
    remove = commands.add_parser(
        "remove",
        help="delete the chunks of files or folders from a knowledge base",
        description=(
            "Delete the chunks `rag add` stored for these files, or for every file under "
            "these folders, whether or not they still exist (matched by resolved path). "
            "A path with no chunks is an error, and then nothing is deleted. Progress goes "
            "to stderr; the number of chunks deleted goes to stdout.\n\n"
            "example: pepperpy rag remove reports/old.pdf --store chroma --collection reports"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    remove.add_argument("paths", nargs="+", help="files and folders")
    _store_options(remove, embeddings=False)
    remove.set_defaults(func=run_remove)


def _store_options(parser: argparse.ArgumentParser, *, embeddings: bool) -> None:
    parser.add_argument("--store", default="chroma", help="rag provider (default: chroma)")
    if embeddings:
        parser.add_argument("--embeddings", default="local",
                            help="embeddings provider (default: local)")
    parser.add_argument("--collection", default="pepperpy", help="collection name")
    parser.add_argument("--data-dir", default="pepperpy_data",
                        help="the application's data folder (default: ./pepperpy_data)")


def run_add(args: argparse.Namespace) -> int:
    return asyncio.run(_add(args))


async def _add(args: argparse.Namespace) -> int:
    from pepperpy import PepperPy
    from pepperpy.ingest_walk import one_is_there

    one_is_there(args.paths, "pepperpy rag add")  # before the providers are looked up
    app = _configured(PepperPy(data_dir=args.data_dir), args)
    live = sys.stderr.isatty()
    async with app as pepper:
        ids = await pepper.rag.add_files(args.paths, strict=args.strict, prune=args.prune,
                                         progress=_progress(live))
        total = await pepper.rag.count()
    if live:
        print(file=sys.stderr)
    print(f"{len(ids)} chunks from {_named(args.paths)}; "
          f"collection {args.collection!r} holds {total}")
    return 0


def _configured(app: PepperPy, args: argparse.Namespace) -> PepperPy:
    """The embeddings provider and the store, with every plugin the command needs and
    does not find named in one error (not one per run), documents loaders included."""
    from pepperpy.core import PluginNotFoundError

    missing = []
    for configure in (lambda: app.with_embeddings(args.embeddings),
                      lambda: app.with_rag(args.store, collection=args.collection)):
        try:
            configure()
        except PluginNotFoundError as exc:
            missing.append(str(exc))
    if not app.registry.available("documents"):
        missing.append("no documents loader is installed (they read the files: pdf, docx, "
                       "html, markdown); `pepperpy plugin search documents` lists the ones "
                       "your indexes offer, `pepperpy plugin install NAME --category "
                       "documents` installs one")
    if missing:
        raise PluginNotFoundError(" / also: ".join(missing))
    return app


def run_remove(args: argparse.Namespace) -> int:
    return asyncio.run(_remove(args))


async def _remove(args: argparse.Namespace) -> int:
    """Only the store starts (no embeddings model is loaded to delete chunks)."""
    from pepperpy import PepperPy
    from pepperpy.rag_remove import remove

    app = PepperPy(data_dir=args.data_dir).with_rag(args.store, collection=args.collection)
    live = sys.stderr.isatty()
    try:
        store = await app._store()
        removed = await remove(store, args.paths, progress=_progress(live))
        total = await store.count()
    finally:
        await app.aclose()
    if live:
        print(file=sys.stderr)
    print(f"{len(removed)} chunks removed from {_named(args.paths)}; "
          f"collection {args.collection!r} holds {total}")
    return 0


def _named(paths: list[str]) -> str:
    return printable(paths[0]) if len(paths) == 1 else "the paths"


def _progress(live: bool) -> Any:
    def progress(state: IngestProgress) -> None:
        print(f"\r{state.line()}" if live else state.line(), end="" if live else "\n",
              file=sys.stderr, flush=True)

    return progress
