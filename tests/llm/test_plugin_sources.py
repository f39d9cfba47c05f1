"""The LLM plugin folders: valid manifests, imports, the OpenAI wire code from the core."""

from __future__ import annotations

import ast
import json

import jsonschema
import pytest

from pepperpy.bundle.build import SHARED_LIST, collect_files
from tests.llm.conftest import PLUGIN_SRC, PLUGINS, ROOT

#: Plugins that speak OpenAI's API through the core's pepperpy.openai_compatible.
OPENAI_SPEAKERS = ("llm_openai_provider", "llm_openrouter_provider",
                   "embeddings_openai_provider")


def test_no_shared_copies_are_left() -> None:
    assert not (PLUGIN_SRC / "_shared").exists()
    assert not list(PLUGIN_SRC.glob(f"*/{SHARED_LIST}"))


@pytest.mark.parametrize("folder", OPENAI_SPEAKERS)
def test_openai_code_comes_from_the_installed_pepperpy(folder: str) -> None:
    """The wire code is imported from the core, not copied into each bundle."""
    files, _ = collect_files(PLUGIN_SRC / folder)
    names = {name for name, _ in files}
    assert not {n for n in names if n.startswith("_openai")}
    code = dict(files)["provider.py"].decode()
    assert "from pepperpy.openai_compatible" in code


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
    files, _ = collect_files(PLUGIN_SRC / folder)  # the bundle's code, shared modules too
    for name, code in files:
        if not name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{name} imports {roots - allowed}"
