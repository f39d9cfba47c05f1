"""Reproducible builds and the documented ignore rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pepperpy.bundle.build import build_all, build_bundle, collect_files
from pepperpy.bundle.verify import read_manifest, verify_bundle
from pepperpy.core import BundleInvalidError, ConfigurationError
from pepperpy.testing_bundles import BundleFactory


def _source(root: Path, name: str = "demo") -> Path:
    src = root / name
    (src / name).mkdir(parents=True)
    (src / "plugin.json").write_text(json.dumps({
        "name": name, "version": "1.2.0", "category": "llm", "provider_name": name,
        "entry_point": f"{name}.provider:Provider", "dependencies": ["requests>=2"]}))
    (src / name / "__init__.py").write_text("")
    (src / name / "provider.py").write_text("class Provider:\n    pass\n" * 50)
    (src / name / "prompts.yaml").write_text("greeting: hello\n")
    (src / "README.md").write_text("# demo\n")
    return src


def test_two_builds_are_byte_identical(tmp_path: Path, factory: BundleFactory) -> None:
    src = _source(tmp_path)
    a = build_bundle(src, key=factory.key, out_dir=tmp_path / "a")
    os.utime(src / "demo" / "provider.py", (1, 1))  # mtimes must not matter
    b = build_bundle(src, key=factory.key, out_dir=tmp_path / "b")
    assert a.path.name == "demo-1.2.0.pepperplugin"
    assert a.path.read_bytes() == b.path.read_bytes()
    assert verify_bundle(a.path.read_bytes(), factory.snapshot()).manifest.version == "1.2.0"
    assert read_manifest(a.path).name == "demo"


def test_ignore_rules(tmp_path: Path, factory: BundleFactory) -> None:
    src = _source(tmp_path)
    junk = ["demo/__pycache__/provider.cpython-311.pyc", ".git/config", ".DS_Store",
            "demo/provider.py~", "demo/.provider.py.swp", "demo/old.pyc", ".venv/bin/python"]
    for rel in junk:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(b"junk")
    (src / "native.so").write_bytes(b"\x7fELF")
    files, skipped = collect_files(src)
    names = [n for n, _ in files]
    assert names == ["README.md", "demo/__init__.py", "demo/prompts.yaml", "demo/provider.py",
                     "plugin.json"]
    assert skipped == ["native.so"]
    clean = build_bundle(src, key=factory.key, out_dir=tmp_path / "out")
    assert clean.skipped == ("native.so",)


def test_symlink_in_source_refused(tmp_path: Path, factory: BundleFactory) -> None:
    src = _source(tmp_path)
    (src / "demo" / "link.py").symlink_to("/etc/passwd")
    with pytest.raises(ConfigurationError, match="symlink"):
        build_bundle(src, key=factory.key, out_dir=tmp_path / "out")


def test_invalid_manifest_refused_at_build(tmp_path: Path, factory: BundleFactory) -> None:
    src = _source(tmp_path)
    m = json.loads((src / "plugin.json").read_text())
    m["dependencies"] = ["evil @ https://evil.test/e.whl"]
    (src / "plugin.json").write_text(json.dumps(m))
    with pytest.raises(BundleInvalidError, match="dependency"):
        build_bundle(src, key=factory.key, out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "demo-1.2.0.pepperplugin").exists()


def test_shadowing_refused_at_build(tmp_path: Path, factory: BundleFactory) -> None:
    src = _source(tmp_path)
    (src / "demo.py").write_text("print('shadow')\n")
    with pytest.raises(BundleInvalidError, match="shadowed"):
        build_bundle(src, key=factory.key, out_dir=tmp_path / "out")


def test_build_all(tmp_path: Path, factory: BundleFactory) -> None:
    _source(tmp_path / "src", "alpha")
    _source(tmp_path / "src", "beta")
    results = build_all(tmp_path / "src", tmp_path / "dist", factory.key)
    assert [r.path.name for r in results] == ["alpha-1.2.0.pepperplugin",
                                              "beta-1.2.0.pepperplugin"]
    assert not list((tmp_path / "dist").glob(".build-*"))
