"""The LLM plugin folders: valid manifests, self-contained bundles, shared modules."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from pepperpy.bundle.build import SHARED_LIST, collect_files
from pepperpy_testing.bundles import BundleFactory, unpack
from tests.llm.conftest import PLUGIN_SRC, PLUGINS, ROOT

SHARED_SRC = PLUGIN_SRC / "_shared"
#: Modules of plugin_src/_shared/ each plugin's bundle includes (via its shared.txt).
SHARED = {
    "embeddings_local_provider": ["_worker.py"],
    "rag_chroma_provider": ["_worker.py"],
    "rag_milvus_provider": ["_worker.py"],
}


def test_shared_folder_is_not_a_plugin() -> None:
    assert not (SHARED_SRC / "plugin.json").exists()
    listed = {path.parent.name for path in PLUGIN_SRC.glob(f"*/{SHARED_LIST}")}
    assert listed == set(SHARED)
    used = {name for names in SHARED.values() for name in names}
    assert {p.name for p in SHARED_SRC.glob("*.py")} == used  # nothing stale in _shared


@pytest.mark.parametrize("folder", sorted(SHARED))
def test_bundle_holds_the_shared_modules(folder: str, tmp_path: Path) -> None:
    """The bundle is self-contained: it holds each shared module at its root, byte for
    byte, exactly as if the file had been copied into the folder (as it used to be)."""
    factory = BundleFactory(publisher="shared-check")
    built = factory.build_folder(PLUGIN_SRC / folder)
    contents = {e.name.decode(): e.content for e in unpack(built)}
    for name in SHARED[folder]:
        assert contents[name] == (SHARED_SRC / name).read_bytes()
    assert SHARED_LIST not in contents
    copy = tmp_path / folder
    shutil.copytree(PLUGIN_SRC / folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / SHARED_LIST).unlink()
    for name in SHARED[folder]:
        shutil.copyfile(SHARED_SRC / name, copy / name)
    assert factory.build_folder(copy) == built
    assert factory.build_folder(PLUGIN_SRC / folder) == built  # reproducible


#: Plugins that speak OpenAI's API through the core's pepperpy.openai_compatible.
OPENAI_SPEAKERS = ("llm_openai_provider", "llm_openrouter_provider",
                   "embeddings_openai_provider")


@pytest.mark.parametrize("folder", OPENAI_SPEAKERS)
def test_openai_code_comes_from_the_installed_pepperpy(folder: str) -> None:
    """The wire code is imported from the core, not copied into each bundle."""
    files, _ = collect_files(PLUGIN_SRC / folder)
    names = {name for name, _ in files}
    assert not {n for n in names if n.startswith("_openai")}
    assert not (PLUGIN_SRC / folder / SHARED_LIST).exists()
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
