"""The documents-loader contract: declared file types, pure parsing, clean refusals."""

from __future__ import annotations

import inspect
from typing import Any

from pepperpy.core import PepperpyError
from pepperpy.documents import DocumentLoader, Section
from pepperpy.testing.conformance._rules import Harness, describe, rule_list
from pepperpy.testing.conformance.common import shared_rules

__all__ = ["DOCUMENTS_RULES"]

#: Bytes no loader can read as a document: each must give sections or a PepperpyError.
GARBAGE = (
    b"",
    b"\x00\x01\x02\xff\xfe not a document \x00" * 8,
    b"PK\x03\x04" + b"\x00" * 60,  # a truncated ZIP (docx, epub, odt...)
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<",  # a truncated PDF
    b"<html>" + b"<div>" * 64,  # unclosed markup
)


async def _exercise(provider: DocumentLoader) -> Any:
    try:
        provider.read(GARBAGE[1], name="garbage.bin")
    except PepperpyError:
        pass
    return provider.file_types


rules, rule = rule_list()


@rule("documents.file_types",
      "file_types lists lower-case suffixes with their dot, the default of the manifest's "
      "file_types option (what rag.add_files picks the loader by)",
      'declare "file_types": {"type": "array", "default": [".ext"]} in config_schema and '
      "leave DocumentLoader.file_types alone")
async def _file_types(h: Harness) -> None:
    provider: DocumentLoader = await h.open()
    declared = ((h.config_schema or {}).get("properties", {}).get("file_types") or {})
    h.check("default" in declared, "config_schema has no file_types option with a default")
    try:
        types = provider.file_types
    except PepperpyError as exc:
        h.fail(f"file_types raised {describe(exc)}")
    h.check(bool(types) and all(t.startswith(".") and t == t.lower() for t in types),
            f"file_types is {types!r}")
    h.check(list(types) == [t.lower() for t in declared.get("default", [])],
            f"file_types {types!r} is not the manifest's default {declared.get('default')!r}")


@rule("documents.read_is_pure",
      "read(data, name=...) is a plain (not async) method: PepperPy runs it on a worker "
      "thread and does the file I/O itself",
      "define `def read(self, data: bytes, *, name: str) -> list[Section]` and parse the "
      "bytes you are given; never open the file again")
async def _pure(h: Harness) -> None:
    provider: DocumentLoader = await h.open()
    h.check(not inspect.iscoroutinefunction(type(provider).read), "read() is async")


@rule("documents.garbage_refused",
      "bytes that are not a document (empty, random, truncated ZIP/PDF, unclosed markup) "
      "give a list of Sections or a PepperpyError naming the file, never another exception",
      "catch the parser's exceptions and raise pepperpy.ValidationError(f'{name} is not "
      "a readable ...') from them")
async def _garbage(h: Harness) -> None:
    provider: DocumentLoader = await h.open()
    for data in GARBAGE:
        try:
            sections = provider.read(data, name="sample-file.bin")
        except PepperpyError as exc:
            h.check("sample-file.bin" in str(exc), f"the error {describe(exc)} does not "
                    "name the file")
            continue
        except Exception as exc:
            h.fail(f"read({data[:12]!r}...) raised {describe(exc)}")
        h.check(isinstance(sections, list) and all(isinstance(s, Section) for s in sections),
                f"read({data[:12]!r}...) returned {type(sections).__name__}, not Sections")


DOCUMENTS_RULES = (*rules, *shared_rules("documents", _exercise))
