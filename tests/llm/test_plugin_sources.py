"""The LLM plugin folders: valid manifests, self-contained code, no drift in copies."""

from __future__ import annotations

import ast
import json

import jsonschema
import pytest

from tests.llm.conftest import PLUGIN_SRC, PLUGINS, ROOT

#: Files copied byte-for-byte between self-contained bundles (see their docstrings).
SHARED = {
    "_openai_errors.py": ["llm_openai_provider", "llm_openrouter_provider",
                          "embeddings_openai_provider"],
    "_openai_chat.py": ["llm_openai_provider", "llm_openrouter_provider"],
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_copies_are_identical(name: str) -> None:
    texts = {folder: (PLUGIN_SRC / folder / name).read_bytes() for folder in SHARED[name]}
    first = texts[SHARED[name][0]]
    drifted = [folder for folder, text in texts.items() if text != first]
    assert not drifted, f"{name} differs in {drifted}: copy it from {SHARED[name][0]}"


@pytest.mark.parametrize("folder", PLUGINS)
def test_manifest_is_valid(folder: str) -> None:
    schema = json.loads((ROOT / "schemas" / "plugin.schema.json").read_text())
    manifest = json.loads((PLUGIN_SRC / folder / "plugin.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(manifest)
    config = manifest["config_schema"]
    jsonschema.Draft202012Validator.check_schema(config)
    assert config["additionalProperties"] is False
    assert config["properties"]["api_key"]["secret"] is True
    assert manifest["name"] == folder


@pytest.mark.parametrize("folder", PLUGINS)
def test_imports_are_relative_or_core(folder: str) -> None:
    """A bundle is imported under a private name: only relative imports reach itself."""
    allowed = {"pepperpy", "openai", "anthropic", "__future__", "collections", "typing",
               "json", "re"}
    for path in (PLUGIN_SRC / folder).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"
