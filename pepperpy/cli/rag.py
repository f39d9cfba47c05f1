"""``pepperpy rag add PATH...``: fill a knowledge base from files and folders."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pepperpy.ingest import IngestProgress

__all__ = ["register"]


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "rag", help="add files and folders to a knowledge base",
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
            "example: pepperpy rag add reports/ notes.docx --store chroma --collection kb"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("paths", nargs="+", help="files and folders")
    add.add_argument("--store", default="chroma", help="rag provider (default: chroma)")
    add.add_argument("--embeddings", default="local",
                     help="embeddings provider (default: local)")
    add.add_argument("--collection", default="pepperpy", help="collection name")
    add.add_argument("--data-dir", default="pepperpy_data",
                     help="the application's data folder (default: ./pepperpy_data)")
    add.add_argument("--strict", action="store_true",
                     help="add nothing if any file cannot be read")
    add.set_defaults(func=run_add)


def run_add(args: argparse.Namespace) -> int:
    return asyncio.run(_add(args))


async def _add(args: argparse.Namespace) -> int:
    from pepperpy import PepperPy

    app = (PepperPy(data_dir=args.data_dir).with_embeddings(args.embeddings)
           .with_rag(args.store, collection=args.collection))
    live = sys.stderr.isatty()

    def progress(state: IngestProgress) -> None:
        print(f"\r{state.line()}" if live else state.line(), end="" if live else "\n",
              file=sys.stderr, flush=True)

    async with app as pepper:
        ids = await pepper.rag.add_files(args.paths, strict=args.strict, progress=progress)
        total = await pepper.rag.count()
    if live:
        print(file=sys.stderr)
    print(f"{len(ids)} chunks from {args.paths[0] if len(args.paths) == 1 else 'the paths'}; "
          f"collection {args.collection!r} holds {total}")
    return 0
