"""``pepperpy plugin new``: a plugin folder that builds, verifies and passes its tests.

Invariants: the name and provider name are checked against the manifest schema's
patterns before anything is written; the target folder must not exist and is created
with ``mkdir`` (never merged into); every file is written inside it, and a failure
part-way removes the folder again, so nothing is left behind or written elsewhere.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from pepperpy.core import ConfigurationError, ValidationError
from pepperpy.registry import CATEGORY_NAME
from pepperpy_dev.scaffold import templates
from pepperpy_dev.scaffold.readme import reference_section

__all__ = ["new_plugin", "plugin_files"]

_NAME = re.compile(r"[a-z][a-z0-9_]{1,63}")
_PROVIDER = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_SUITES = {"llm": "LLMConformance", "embeddings": "EmbeddingsConformance",
           "rag": "RAGConformance", "storage": "StorageConformance",
           "tools": "ToolsConformance", "documents": "DocumentsConformance"}
_SUFFIX = {"llm": "LLMProvider", "embeddings": "Embeddings", "rag": "VectorStore",
           "storage": "Storage", "tools": "Tools", "documents": "Loader"}
_KIND = {"llm": "An LLM provider", "embeddings": "An embeddings provider",
         "rag": "A vector store (RAG provider)", "storage": "A JSON storage provider",
         "tools": "A tools provider", "documents": "A documents loader"}
_USAGE = {
    "llm": 'async with PepperPy().with_llm("{p}") as pepper:\n'
           '    print((await pepper.chat.with_user("hello").generate()).content)',
    "embeddings": 'async with PepperPy().with_embeddings("{p}") as pepper:\n'
                  '    vectors = await pepper.embed(["hello"])',
    "rag": 'async with PepperPy().with_embeddings("local").with_rag("{p}") as pepper:\n'
           '    await pepper.rag.add_texts(["PepperPy loads signed plugins."])',
    "storage": 'async with PepperPy().with_storage("{p}") as pepper:\n'
               '    ...  # conversation history and your own JSON documents',
    "tools": 'async with PepperPy().with_llm("openai").with_tools("{p}") as pepper:\n'
             '    print(await pepper.tools.list())  # offered to every chat and agent',
    "documents": 'async with PepperPy().with_embeddings("local").with_rag("chroma") as pepper:\n'
                 '    await pepper.rag.add_files(["notes{suffix}"])  # picked by file type',
}
_OPEN_USAGE = ('async with PepperPy() as pepper:\n'
               '    print(await pepper.use("{c}", "{p}").describe())')


TEMPLATES = ("minimal", "openai-compatible")


def _openai_options(env_prefix: str) -> dict[str, Any]:
    """The options of an OpenAI-compatible provider (what OpenAIChatProvider reads)."""
    return {
        "api_key": {"type": "string", "minLength": 1, "env": f"{env_prefix}_API_KEY",
                    "secret": True, "description": "API key of the service"},
        "model": {"type": "string", "minLength": 1, "default": "change-me",
                  "description": "model used when a chat does not set one"},
        "base_url": {"type": "string", "default": "https://api.example.com/v1",
                     "env": f"{env_prefix}_BASE_URL",
                     "description": "the service's OpenAI-compatible base URL"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 60,
                    "description": "seconds per request attempt"},
        "stream_usage": {"type": "boolean", "default": True,
                         "description": "ask for token usage in streams (turn off for "
                                        "servers that reject stream_options)"},
    }


def _options(category: str, env_prefix: str) -> dict[str, Any]:
    """The generated provider's config schema properties."""
    if category == "llm":
        return {
            "model": {"type": "string", "default": "echo-1",
                      "description": "Model name reported in results."},
            "prefix": {"type": "string", "default": "Echo: ", "env": f"{env_prefix}_PREFIX",
                       "description": "Text put before the echoed message."},
        }
    if category == "embeddings":
        return {"dimension": {"type": "integer", "minimum": 1, "maximum": 4096, "default": 64,
                              "env": f"{env_prefix}_DIMENSION",
                              "description": "Length of every vector."}}
    if category == "documents":
        return {"file_types": {"type": "array", "items": {"type": "string"},
                               "default": [_suffix(env_prefix)],
                               "description": "File types this loader reads (rag.add_files "
                                              "picks it by these; lower-case suffixes with "
                                              "their dot)."}}
    if category not in ("rag", "storage"):
        return {"greeting": {"type": "string", "default": "hello",
                             "env": f"{env_prefix}_GREETING",
                             "description": "What describe() says (replace with your options)."}}
    return {"data_dir": {"type": "string", "minLength": 1,
                         "description": "The application's data folder (PepperPy fills it "
                                        "in); keep your files under it."}}


def _suffix(env_prefix: str) -> str:
    """A documents loader's first file type: ``.rtf`` for the provider ``rtf``."""
    return "." + env_prefix.lower()


def default_provider_name(name: str, category: str) -> str:
    """``llm_echo_provider`` -> ``echo``; other names are used as they are."""
    stem = name.removeprefix(f"{category}_").removesuffix("_provider")
    return stem if _PROVIDER.fullmatch(stem) else name


def plugin_files(
    name: str,
    category: str,
    *,
    provider_name: str | None = None,
    author: str = "",
    pepperpy_version: str = "0.1.0",
    template: str = "minimal",
) -> dict[str, str]:
    """The files of a new plugin, by relative path (validated; nothing written).

    ``template="openai-compatible"`` (llm only) writes a provider for a service that
    speaks OpenAI's API, on :mod:`pepperpy.openai_compatible`.
    """
    if template not in TEMPLATES:
        raise ValidationError(f"unknown template {template!r}; use one of {', '.join(TEMPLATES)}")
    compatible = template == "openai-compatible"
    if compatible and category != "llm":
        raise ValidationError("the openai-compatible template is for --category llm")
    if not _NAME.fullmatch(name):
        raise ValidationError(
            f"invalid plugin name {name!r}: use 2-64 lowercase letters, digits and "
            "underscores, starting with a letter (e.g. llm_echo_provider)"
        )
    if not CATEGORY_NAME.fullmatch(category):
        raise ValidationError(
            f"invalid category {category!r}: use 1-32 lowercase letters, digits and "
            "underscores, starting with a letter (llm, embeddings, rag, storage, tools, "
            "documents, or a new one such as calendar)"
        )
    provider = provider_name or default_provider_name(name, category)
    if not _PROVIDER.fullmatch(provider):
        raise ValidationError(
            f"invalid provider name {provider!r}: use lowercase letters, digits, '_' and "
            "'-', starting with a letter (e.g. echo)"
        )
    words = re.split(r"[_-]", provider)
    class_name = "".join(w.capitalize() for w in words if w) + _SUFFIX.get(category,
                                                                            "Provider")
    env_prefix = provider.upper().replace("-", "_")
    major, minor = (int(x) for x in pepperpy_version.split(".")[:2])
    compat = f">={major}.{minor},<{major + 1}" if major else f">={major}.{minor},<0.{minor + 1}"
    kind = _KIND.get(category, f"A {category} provider")
    description = f"{kind} named {provider} (generated by pepperpy plugin new)."
    options = _openai_options(env_prefix) if compatible else _options(category, env_prefix)
    manifest = {
        "name": name,
        "version": "0.1.0",
        "category": category,
        "provider_name": provider,
        "description": description,
        "entry_point": f"provider:{class_name}",
        "author": author or "Your Name",
        "license": "MIT",
        "pepperpy_compatibility": compat,
        "python_requires": ">=3.11",
        "dependencies": ["openai>=1.40"] if compatible else [],
        "config_schema": {"type": "object", "additionalProperties": False,
                          "properties": options,
                          **({"required": ["api_key"]} if compatible else {})},
    }
    fields = {"name": name, "category": category, "provider_name": provider,
              "class_name": class_name, "description": description,
              "suite": _SUITES.get(category, "CategoryConformance"),
              "category_line": "" if category in _SUITES else f'\n    category = "{category}"',
              "env_prefix": env_prefix}
    usage = _USAGE.get(category, _OPEN_USAGE).format(p=provider, c=category,
                                                     suffix=_suffix(env_prefix))
    provider_code = (templates.OPENAI_COMPATIBLE if compatible
                     else templates.PROVIDERS.get(category, templates.GENERIC))
    return {
        "plugin.json": json.dumps(manifest, indent=2) + "\n",
        "__init__.py": f'"""The {name} plugin (a PepperPy {category} provider)."""\n',
        "provider.py": provider_code.format(**fields),
        "README.md": templates.README.format(
            **fields, usage=usage, reference=reference_section(_parsed(manifest)),
        ),
        f"tests/test_{name}.py": (templates.TEST_OPENAI_COMPATIBLE if compatible
                                  else templates.TEST).format(**fields),
        "AGENTS.md": templates.AGENTS.format(**fields),
    }


def _parsed(manifest: dict[str, Any]) -> Any:
    from pepperpy.trust.manifest import parse_manifest

    return parse_manifest(json.dumps(manifest).encode())


def new_plugin(
    name: str,
    category: str,
    *,
    out: Path,
    provider_name: str | None = None,
    author: str = "",
    template: str = "minimal",
) -> Path:
    """Write a new plugin folder ``out/name``; return its path."""
    from pepperpy import __version__

    files = plugin_files(name, category, provider_name=provider_name, author=author,
                         pepperpy_version=__version__, template=template)
    out = Path(out)
    if not out.is_dir():
        raise ConfigurationError(f"the output folder {out} does not exist; create it first")
    target = out / name
    try:
        target.mkdir()
    except FileExistsError:
        raise ConfigurationError(
            f"{target} already exists; choose another name or --out folder (nothing was "
            "written)"
        ) from None
    try:
        for relative, text in files.items():
            path = target / relative
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target
