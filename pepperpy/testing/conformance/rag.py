"""The vector-store contract: add, search (k, filters, order), delete, count, ids."""

from __future__ import annotations

import math
from typing import Any

from pepperpy.core import PepperpyError
from pepperpy.rag import Document, RAGProvider, SearchResult
from pepperpy.testing.conformance._rules import Harness, describe, rule_list
from pepperpy.testing.conformance.common import shared_rules

__all__ = ["RAG_RULES"]


def _unit(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


DOCS = [
    Document("Paris is the capital of France.", metadata={"lang": "en", "topic": "geo", "n": 1}),
    Document("Berlin is the capital of Germany.", metadata={"lang": "en", "topic": "geo", "n": 2}),
    Document("Le chat dort sur le canapé.", metadata={"lang": "fr", "topic": "pets", "n": 3}),
    Document("Dogs like long walks.", metadata={"lang": "en", "topic": "pets", "top": True}),
]
VECTORS = [_unit([1, 0, 0, 0]), _unit([0.8, 0.6, 0, 0]), _unit([0, 0, 1, 0]),
           _unit([0, 0, 0.6, 0.8])]


async def _count(provider: RAGProvider) -> Any:
    return await provider.count()


async def _filled(h: Harness) -> RAGProvider:
    provider: RAGProvider = await h.open()
    await provider.add(DOCS, VECTORS)
    return provider


def _ids(results: list[SearchResult]) -> list[str]:
    return [r.document.id for r in results]


rules, rule = rule_list()


@rule("rag.add_count",
      "add() returns the documents' ids in order and count() sees them",
      "return [d.id for d in documents] from add() and count every stored document")
async def _add(h: Harness) -> None:
    provider: RAGProvider = await h.open()
    ids = await provider.add(DOCS, VECTORS)
    h.check(list(ids) == [d.id for d in DOCS], f"add() returned {ids!r}")
    count = await provider.count()
    h.check(count == len(DOCS), f"count() is {count} after adding {len(DOCS)}")


@rule("rag.idempotent_ids",
      "adding a document with an existing id replaces it: adding twice keeps the count",
      "upsert by Document.id instead of inserting a new row")
async def _idempotent(h: Harness) -> None:
    provider = await _filled(h)
    await provider.add(DOCS, VECTORS)
    count = await provider.count()
    h.check(count == len(DOCS), f"count() is {count} after adding the same {len(DOCS)} twice")
    changed = Document("Paris, capital city.", id=DOCS[0].id, metadata={"lang": "en"})
    await provider.add([changed], [VECTORS[0]])
    (hit,) = await provider.search(VECTORS[0], k=1)
    h.check(hit.document.text == changed.text, "search still returns the replaced text")


@rule("rag.search_order",
      "search() returns SearchResults nearest first, scores descending and at most 1, "
      "with the document's text and metadata intact",
      "sort by similarity (cosine: 1 - distance) before returning and rebuild Document("
      "text, id, metadata) from what you stored")
async def _order(h: Harness) -> None:
    provider = await _filled(h)
    results = await provider.search(_unit([1, 0.1, 0.05, 0]), k=3)
    h.check(all(isinstance(r, SearchResult) for r in results), "items are not SearchResults")
    h.check(_ids(results) == [DOCS[0].id, DOCS[1].id, DOCS[2].id],
            f"order {[r.document.text for r in results]!r}")
    scores = [r.score for r in results]
    h.check(scores == sorted(scores, reverse=True), f"scores {scores!r} are not descending")
    h.check(all(s <= 1 + 1e-4 for s in scores), f"scores {scores!r} above 1")
    h.check(results[0].document == DOCS[0], f"got back {results[0].document!r}")


@rule("rag.search_k",
      "search() returns at most k results: exactly k when the store holds more, all of "
      "them when it holds fewer",
      "pass k to the backend's query (n_results, LIMIT) and slice the answer to k")
async def _k(h: Harness) -> None:
    provider = await _filled(h)
    two = await provider.search(VECTORS[0], k=2)
    h.check(len(two) == 2, f"k=2 gave {len(two)} results from {len(DOCS)} documents")
    one = await provider.search(VECTORS[0], k=1)
    h.check(len(one) == 1, f"k=1 gave {len(one)} results")
    many = await provider.search(VECTORS[0], k=10)
    h.check(len(many) == len(DOCS), f"k=10 gave {len(many)} results from {len(DOCS)}")


@rule("rag.search_where",
      "search(where=...) keeps only documents whose metadata equals every pair (str, "
      "int and bool values), and [] when none match",
      "translate `where` into the backend's filter (an AND of equalities)")
async def _where(h: Harness) -> None:
    provider = await _filled(h)
    query = VECTORS[0]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"lang": "fr"}, [DOCS[2].id]),
        ({"lang": "en", "topic": "pets"}, [DOCS[3].id]),
        ({"n": 2}, [DOCS[1].id]),
        ({"top": True}, [DOCS[3].id]),
        ({"lang": "de"}, []),
    ]
    for where, expected in cases:
        got = _ids(await provider.search(query, k=4, where=where))
        h.check(got == expected, f"where={where!r} gave {len(got)} results, not {len(expected)}")


@rule("rag.delete",
      "delete() removes documents by id, ignores unknown ids and accepts []",
      "delete only the ids that exist (skip unknown ones) and return early on []")
async def _delete(h: Harness) -> None:
    provider = await _filled(h)
    await provider.delete([DOCS[0].id, "never-added"])
    count = await provider.count()
    h.check(count == len(DOCS) - 1, f"count() is {count} after deleting one of {len(DOCS)}")
    hits = _ids(await provider.search(VECTORS[0], k=4))
    h.check(DOCS[0].id not in hits, "search still finds the deleted document")
    await provider.delete([])
    h.check(await provider.count() == len(DOCS) - 1, "delete([]) changed the count")


@rule("rag.get",
      "get(ids) returns the stored documents in the requested order, skipping unknown ids "
      "(when the store overrides get)",
      "fetch by id and return [found[i] for i in ids if i in found]")
async def _get(h: Harness) -> None:
    provider = await _filled(h)
    if type(provider).get is RAGProvider.get:
        h.skip("the store does not override get()")
    got = await provider.get([DOCS[2].id, "missing", DOCS[0].id])
    h.check(got == [DOCS[2], DOCS[0]], f"get() returned {[d.text for d in got]!r}")


@rule("rag.ids_where",
      "ids(where) lists every document whose metadata equals every pair (when the store "
      "overrides it; rag.add_files uses it to drop a changed file's old chunks)",
      "query ids with the same filter search() uses, without a vector")
async def _ids_where(h: Harness) -> None:
    provider = await _filled(h)
    if type(provider).ids is RAGProvider.ids:
        h.skip("the store does not override ids()")
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"lang": "en"}, {DOCS[0].id, DOCS[1].id, DOCS[3].id}),
        ({"lang": "en", "topic": "pets"}, {DOCS[3].id}),
        ({"lang": "de"}, set()),
    ]
    for where, expected in cases:
        got = await provider.ids(where)
        h.check(got is not None, "ids() is overridden but returned None (cannot list)")
        got = got or []
        h.check(set(got) == expected and len(got) == len(expected),
                f"ids(where={where!r}) gave {len(got)} ids, not {len(expected)}")


@rule("rag.empty_store",
      "a new store counts 0 and search() on it returns []",
      "return [] when the collection is empty instead of raising")
async def _empty(h: Harness) -> None:
    provider: RAGProvider = await h.open()
    h.check(await provider.count() == 0, "a fresh store is not empty (state is shared?)")
    h.check(await provider.search(VECTORS[0], k=3) == [], "search() on an empty store")


@rule("rag.errors.mismatched_input",
      "add() with fewer embeddings than documents raises a PepperpyError and stores nothing",
      "check len(documents) == len(embeddings) first and raise pepperpy.ValidationError")
async def _mismatch(h: Harness) -> None:
    provider: RAGProvider = await h.open()
    try:
        await provider.add(DOCS[:2], VECTORS[:1])
    except PepperpyError:
        pass
    except Exception as exc:
        h.fail(f"add() raised {describe(exc)}")
    else:
        h.fail("add() accepted 2 documents with 1 embedding")
    h.check(await provider.count() == 0, "documents were stored anyway")


RAG_RULES = (*rules, *shared_rules("rag", _count))
