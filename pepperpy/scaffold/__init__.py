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
from pepperpy.scaffold import templates

__all__ = ["new_plugin", "plugin_files"]

_NAME = re.compile(r"[a-z][a-z0-9_]{1,63}")
_PROVIDER = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_SUITES = {"llm": "LLMConformance", "embeddings": "EmbeddingsConformance",
           "rag": "RAGConformance", "storage": "StorageConformance",
           "tools": "ToolsConformance"}
_SUFFIX = {"llm": "LLMProvider", "embeddings": "Embeddings", "rag": "VectorStore",
           "storage": "Storage", "tools": "Tools"}
_KIND = {"llm": "An LLM provider", "embeddings": "An embeddings provider",
         "rag": "A vector store (RAG provider)", "storage": "A JSON storage provider",
         "tools": "A tools provider"}
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
}
_OPEN_USAGE = ('async with PepperPy() as pepper:\n'
               '    print(await pepper.use("{c}", "{p}").describe())')


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
    if category not in ("rag", "storage"):
        return {"greeting": {"type": "string", "default": "hello",
                             "env": f"{env_prefix}_GREETING",
                             "description": "What describe() says (replace with your options)."}}
    return {"data_dir": {"type": "string", "minLength": 1,
                         "description": "The application's data folder (PepperPy fills it "
                                        "in); keep your files under it."}}


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
) -> dict[str, str]:
    """The files of a new plugin, by relative path (validated; nothing written)."""
    if not _NAME.fullmatch(name):
        raise ValidationError(
            f"invalid plugin name {name!r}: use 2-64 lowercase letters, digits and "
            "underscores, starting with a letter (e.g. llm_echo_provider)"
        )
    if not CATEGORY_NAME.fullmatch(category):
        raise ValidationError(
            f"invalid category {category!r}: use 1-32 lowercase letters, digits and "
            "underscores, starting with a letter (llm, embeddings, rag, storage, tools, or "
            "a new one such as calendar)"
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
    options = _options(category, env_prefix)
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
        "dependencies": [],
        "config_schema": {"type": "object", "additionalProperties": False,
                          "properties": options},
    }
    fields = {"name": name, "category": category, "provider_name": provider,
              "class_name": class_name, "description": description,
              "suite": _SUITES.get(category, "CategoryConformance"),
              "category_line": "" if category in _SUITES else f'\n    category = "{category}"'}
    usage = _USAGE.get(category, _OPEN_USAGE).format(p=provider, c=category)
    return {
        "plugin.json": json.dumps(manifest, indent=2) + "\n",
        "__init__.py": f'"""The {name} plugin (a PepperPy {category} provider)."""\n',
        "provider.py": templates.PROVIDERS.get(category, templates.GENERIC).format(**fields),
        "README.md": templates.README.format(
            **fields, usage=usage,
            options=options_table(options), dependencies="None besides PepperPy.",
        ),
        f"tests/test_{name}.py": templates.TEST.format(**fields),
        "AGENTS.md": templates.AGENTS.format(**fields),
    }


def options_table(options: dict[str, Any]) -> str:
    """Markdown rows for a config schema's properties (used by README templates)."""
    rows = []
    for key, spec in options.items():
        default = json.dumps(spec["default"]) if "default" in spec else "(none)"
        env = f"`{spec['env']}`" if spec.get("env") else ""
        rows.append(f"| `{key}` | `{default}` | {env} | {spec.get('description', '')} |")
    return "\n".join(rows)


def new_plugin(
    name: str,
    category: str,
    *,
    out: Path,
    provider_name: str | None = None,
    author: str = "",
) -> Path:
    """Write a new plugin folder ``out/name``; return its path."""
    from pepperpy import __version__

    files = plugin_files(name, category, provider_name=provider_name, author=author,
                         pepperpy_version=__version__)
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
