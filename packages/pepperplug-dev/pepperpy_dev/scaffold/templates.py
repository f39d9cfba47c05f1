"""Source templates for ``pepperpy plugin new``: one working minimal provider per category.

Each provider passes the category's conformance suite as generated, so an author
starts from green tests and replaces the body with calls to the real backend.
Placeholders are ``str.format`` fields; literal braces are doubled.
"""

from __future__ import annotations

__all__ = ["AGENTS", "GENERIC", "PROVIDERS", "README", "TEST"]

LLM = '''"""{description}"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from pepperpy.core import BadRequestError
from pepperpy.llm import (
    GenerationChunk,
    GenerationOptions,
    GenerationResult,
    LLMProvider,
    Message,
    MessageRole,
    Usage,
)


class {class_name}(LLMProvider):
    """Answers with the last user message after a prefix: replace with your model's calls."""

    async def initialize(self) -> None:
        # Open clients and load models here, never in __init__; for example
        # self._client = self.close_on_cleanup(httpx.AsyncClient(...)) is closed for you.
        await super().initialize()

    async def generate(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> GenerationResult:
        self.require_initialized()
        _refuse_unsupported(options, self.provider_name)
        last = next((m.content for m in reversed(messages) if m.role is MessageRole.USER), "")
        text = f"{{self.config['prefix']}}{{last}}"
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        return GenerationResult(
            content=text,
            finish_reason="stop",
            model=options.model or self.config["model"],
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=len(text.split())),
        )

    async def generate_stream(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> AsyncIterator[GenerationChunk]:
        # Replace with your backend's streaming call; keep the final chunk's shape.
        result = await self.generate(messages, options)
        words = result.content.split(" ") if result.content else []
        for index, word in enumerate(words):
            yield GenerationChunk(content=word if index == len(words) - 1 else word + " ")
        # Exactly one chunk carries finish_reason, and it is the last one. It also
        # carries the tool calls: chat.stream() and agents run them between rounds.
        yield GenerationChunk(content="", finish_reason=result.finish_reason or "stop",
                              tool_calls=result.tool_calls, usage=result.usage)


def _refuse_unsupported(options: GenerationOptions, provider: str) -> None:
    """Say so instead of silently ignoring what this provider cannot do."""
    if options.tools:
        raise BadRequestError(
            f"the {{provider}} provider cannot call tools; remove with_tools(...)",
            provider=provider,
        )
    if options.response_format is not None:
        raise BadRequestError(
            f"the {{provider}} provider has no structured output; remove with_schema(...)",
            provider=provider,
        )
'''

EMBEDDINGS = '''"""{description}"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from pepperpy.embeddings import EmbeddingProvider


class {class_name}(EmbeddingProvider):
    """Hashed bag-of-words vectors (offline, deterministic): replace with your model."""

    @property
    def dimension(self) -> int:
        return int(self.config["dimension"])

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.require_initialized()
        if not texts:
            return []
        # A real backend takes batches of limited size: split `texts` here.
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            slot = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
            vector[slot % self.dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]
'''

RAG = '''"""{description}"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pepperpy.core import ValidationError
from pepperpy.rag import Document, RAGProvider, SearchResult


class {class_name}(RAGProvider):
    """A vector store in memory, scored by cosine similarity: replace with your database."""

    async def initialize(self) -> None:
        self._rows: dict[str, tuple[Document, list[float]]] = {{}}
        await super().initialize()

    async def add(
        self, documents: Sequence[Document], embeddings: Sequence[Sequence[float]]
    ) -> list[str]:
        self.require_initialized()
        if len(documents) != len(embeddings):
            raise ValidationError(
                f"{{len(documents)}} documents but {{len(embeddings)}} embeddings; pass one each"
            )
        for document, vector in zip(documents, embeddings, strict=True):
            self._rows[document.id] = (document, [float(x) for x in vector])  # upsert by id
        return [d.id for d in documents]

    async def search(
        self, embedding: Sequence[float], *, k: int = 4, where: dict[str, Any] | None = None
    ) -> list[SearchResult]:
        self.require_initialized()
        if k < 1:
            raise ValidationError(f"k must be at least 1, got {{k}}")
        hits = [
            SearchResult(document, _cosine(embedding, vector))
            for document, vector in self._rows.values()
            if all(document.metadata.get(key) == value for key, value in (where or {{}}).items())
        ]
        return sorted(hits, key=lambda hit: hit.score, reverse=True)[:k]

    async def delete(self, ids: Sequence[str]) -> None:
        self.require_initialized()
        for doc_id in ids:
            self._rows.pop(doc_id, None)

    async def count(self) -> int:
        self.require_initialized()
        return len(self._rows)

    async def get(self, ids: Sequence[str]) -> list[Document]:
        self.require_initialized()
        return [self._rows[i][0] for i in ids if i in self._rows]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValidationError(f"a {{len(a)}}-d query against {{len(b)}}-d vectors")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
'''

STORAGE = '''"""{description}"""

from __future__ import annotations

import json
from typing import Any

from pepperpy.core import ValidationError
from pepperpy.storage import JSONValue, StorageProvider


class {class_name}(StorageProvider):
    """JSON documents in memory: replace the dict with your database."""

    async def initialize(self) -> None:
        self._data: dict[tuple[str, str], str] = {{}}
        await super().initialize()

    async def put(self, namespace: str, key: str, value: JSONValue) -> None:
        self.require_initialized()
        try:
            encoded = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"the value for {{key!r}} is not JSON: {{exc}}") from exc
        self._data[(namespace, key)] = encoded

    async def get(self, namespace: str, key: str) -> JSONValue | None:
        self.require_initialized()
        raw = self._data.get((namespace, key))
        return None if raw is None else json.loads(raw)

    async def delete(self, namespace: str, key: str) -> bool:
        self.require_initialized()
        return self._data.pop((namespace, key), None) is not None

    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        self.require_initialized()
        keys: Any = (k for (ns, k) in self._data if ns == namespace and k.startswith(prefix))
        return sorted(keys)
'''

TOOLS = '''"""{description}"""

from __future__ import annotations

from typing import Any

from pepperpy.llm import Tool
from pepperpy.tools import ToolResult, ToolsProvider


class {class_name}(ToolsProvider):
    """One tool, ``shout``: replace with your service's tools."""

    async def initialize(self) -> None:
        # Connect to your service here, never in __init__.
        await super().initialize()

    async def list_tools(self) -> list[Tool]:
        self.require_initialized()
        return [Tool("shout", "Upper-case a text.", {{
            "type": "object", "properties": {{"text": {{"type": "string"}}}},
            "required": ["text"]}})]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        self.require_initialized()
        if name != "shout":
            return ToolResult(f"no tool named {{name!r}}", is_error=True)
        return ToolResult(str(arguments.get("text", "")).upper())
'''

DOCUMENTS = '''"""{description}"""

from __future__ import annotations

from pepperpy.core import ValidationError
from pepperpy.documents import DocumentLoader, Section

#: Files past this size are refused before any parsing: one file's work stays bounded.
MAX_BYTES = 64 * 1024 * 1024


class {class_name}(DocumentLoader):
    """UTF-8 text split into paragraphs at blank lines: replace ``read`` with your parser.

    PepperPy reads the file (size-bounded) and calls ``read`` on a worker thread; the
    suffixes it is picked for are the default of ``file_types`` in plugin.json.
    """

    def read(self, data: bytes, *, name: str) -> list[Section]:
        # Bound what you inflate, unpack or nest before parsing, and turn every parser
        # exception into a ValidationError that names the file.
        if len(data) > MAX_BYTES:
            raise ValidationError(f"{{name}} is {{len(data)}} bytes; this loader reads "
                                  f"files up to {{MAX_BYTES}} bytes")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{{name}} is not UTF-8 text (byte {{exc.start}} is "
                                  "invalid); save it as UTF-8") from None
        if "\\x00" in text:
            raise ValidationError(f"{{name}} holds NUL bytes: it is binary, not text")
        paragraphs = text.replace("\\r\\n", "\\n").split("\\n\\n")
        return [Section(part.strip()) for part in paragraphs if part.strip()]
'''

#: A category the core does not define: any BaseProvider subclass with the methods
#: the category's users call (``pepper.use(category, provider).method(...)``).
GENERIC = '''"""{description}"""

from __future__ import annotations

from pepperpy.core import BaseProvider


class {class_name}(BaseProvider):
    """A {category} provider: replace ``describe`` with the methods your category offers.

    Users reach it with ``await pepper.use("{category}", "{provider_name}").describe()``.
    """

    category = "{category}"

    async def initialize(self) -> None:
        # Connect to your service here, never in __init__.
        await super().initialize()

    async def describe(self) -> str:
        self.require_initialized()
        return f"{{self.provider_name}}: {{self.config['greeting']}}"
'''

PROVIDERS = {"llm": LLM, "embeddings": EMBEDDINGS, "rag": RAG, "storage": STORAGE,
             "tools": TOOLS, "documents": DOCUMENTS}

OPENAI_COMPATIBLE = '''"""{description}"""

from __future__ import annotations

from typing import ClassVar

from pepperpy.openai_compatible import OpenAIChatProvider


class {class_name}(OpenAIChatProvider):
    """Chat, streaming, tool calls, structured output and usage through the service's
    OpenAI-compatible API, with the wire code of the installed PepperPy (not a copy).

    Set ``base_url``'s default in plugin.json to the service's URL; override
    ``default_headers()`` if the service wants extra headers on every request.
    """

    vendor: ClassVar[str] = "{provider_name}"
    key_env: ClassVar[str] = "{env_prefix}_API_KEY"
'''

TEST_OPENAI_COMPATIBLE = '''"""PepperPy's conformance suite, run against this plugin as users get
it, talking to a loopback server that speaks OpenAI's protocol (no network, no key).

    python -m pytest tests        # or: pepperpy plugin test . --wire openai
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pepperpy_testing.conformance import {suite}


class Test{class_name}({suite}):
    plugin = Path(__file__).resolve().parents[1]
    wire = "openai"
    features = ("tools", "structured_output")
    config: ClassVar[dict[str, Any]] = {{}}  # the options your tests pass to the provider
'''

TEST = '''"""PepperPy's conformance suite, run against this plugin as users get it: built
with a throwaway key, verified, and imported from the signed bundle.

    python -m pytest tests        # or: pepperpy plugin test .
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pepperpy_testing.conformance import {suite}


class Test{class_name}({suite}):{category_line}
    plugin = Path(__file__).resolve().parents[1]
    config: ClassVar[dict[str, Any]] = {{}}  # the options your tests pass to the provider
'''

README = '''# {name}

{description}

Provides the `{category}` provider `{provider_name}`:

```python
{usage}
```

{reference}

## Development

```bash
pepperpy plugin test .                       # build with a throwaway key, run the conformance suite
python -m pytest tests                       # the same suite from pytest
pepperpy plugin lint .                       # manifest, schema, interface, README
pepperpy plugin readme .                     # rewrite the options table from plugin.json
pepperpy plugin build . --key KEYFILE        # the signed .pepperplugin to publish
```
'''

AGENTS = '''# Rules for coding assistants working on this plugin

- This folder is one PepperPy plugin: `plugin.json` (the manifest), `provider.py` (the
  `{category}` provider `{class_name}`), `README.md` (shipped in the bundle), `tests/`.
- Import your own modules relatively (`from .client import Client`) and the core as
  `pepperpy.*`; the bundle is imported from a ZIP under a private name.
- Do I/O in `initialize()`, never in `__init__`; register clients with
  `self.close_on_cleanup(...)`; raise `pepperpy.core` errors (`ProviderError`
  subclasses, `ValidationError`), chained with `from`, never with a key in the message.
- Every option is in `config_schema` (with `env` and `"secret": true` for credentials)
  and so in the README's options table, which `pepperpy plugin readme .` writes (never
  edit it by hand). Dependencies go in `plugin.json`'s
  `dependencies` (PEP 508 names and versions only).
- Bump `version` in `plugin.json` for every change. Check with `pepperpy plugin test .`
  and `pepperpy plugin lint .` before building.
'''
