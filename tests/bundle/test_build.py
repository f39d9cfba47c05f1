"""Reproducible builds, the documented ignore rules and shared-module includes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pepperpy.bundle.build import build_all, build_bundle, collect_files
from pepperpy.bundle.trust import VerifiedCache
from pepperpy.core import BundleInvalidError, ConfigurationError
from pepperpy.trust.gate import Trust, check, verify_bundle
from pepperpy_testing.bundles import BundleFactory


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
    trust = Trust(factory.snapshot(), "test", VerifiedCache(tmp_path / "verified.json"))
    assert check(a.path, trust).key_id == factory.key.key_id


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


# -- build-time includes: shared.txt + ../_shared/ --------------------------------------

SHARED_CODE = b'"""Shared by several plugins."""\n\nVALUE = 42\n'


def _shared_source(root: Path, listing: str = "# shared modules\n\n_common.py\n") -> Path:
    """``root/demo`` (a plugin) whose shared.txt includes ``root/_shared/_common.py``."""
    src = _source(root)
    (root / "_shared").mkdir()
    (root / "_shared" / "_common.py").write_bytes(SHARED_CODE)
    (root / "_shared" / "_unlisted.py").write_text("X = 1\n")
    (src / "shared.txt").write_text(listing)
    return src


def test_shared_module_is_added_at_the_bundle_root(tmp_path: Path, factory: BundleFactory
                                                   ) -> None:
    src = _shared_source(tmp_path)
    (src / "demo" / "shared.txt").write_text("a data file, not a directive\n")
    files, skipped = collect_files(src)
    contents = dict(files)
    assert [n for n, _ in files] == ["README.md", "_common.py", "demo/__init__.py",
                                     "demo/prompts.yaml", "demo/provider.py",
                                     "demo/shared.txt", "plugin.json"]
    assert contents["_common.py"] == SHARED_CODE
    assert "shared.txt" not in contents and "_unlisted.py" not in contents
    assert skipped == []
    result = build_bundle(src, key=factory.key, out_dir=tmp_path / "out")
    bundle = verify_bundle(result.path.read_bytes(), factory.snapshot())
    hashes = {n: hashlib.sha256(c).hexdigest() for n, c in bundle.entries.items()}
    assert hashes["_common.py"] == hashlib.sha256(SHARED_CODE).hexdigest()
    assert "shared.txt" not in hashes


def test_shared_include_is_reproducible_and_equals_a_copy(tmp_path: Path,
                                                          factory: BundleFactory) -> None:
    src = _shared_source(tmp_path / "with")
    first = factory.build_folder(src)
    os.utime(tmp_path / "with" / "_shared" / "_common.py", (1, 1))
    assert factory.build_folder(src) == first
    copied = _source(tmp_path / "copy")
    (copied / "_common.py").write_bytes(SHARED_CODE)
    assert factory.build_folder(copied) == first  # an include is exactly a copy
    (tmp_path / "with" / "_shared" / "_common.py").write_bytes(SHARED_CODE + b"# edit\n")
    assert factory.build_folder(src) != first


@pytest.mark.parametrize("name", ["../x.py", "a/b.py", "x.txt", "/etc/x.py", "__init__.py",
                                  "x.py.py ", "x y.py", "1x.py", "x.PY"])
def test_shared_bad_name_refused(tmp_path: Path, name: str) -> None:
    src = _shared_source(tmp_path, f"_common.py\n{name}\n")
    with pytest.raises(ConfigurationError, match=r"shared\.txt, line 2: .*one file name"):
        collect_files(src)


def test_shared_name_listed_twice_refused(tmp_path: Path) -> None:
    src = _shared_source(tmp_path, "_common.py\n  _common.py\n")
    with pytest.raises(ConfigurationError, match=r"line 2: '_common\.py' is listed twice"):
        collect_files(src)


def test_shared_missing_file_refused(tmp_path: Path) -> None:
    src = _shared_source(tmp_path, "_common.py\n_gone.py\n")
    with pytest.raises(ConfigurationError, match=r"lists '_gone.py' but .*_shared/_gone.py "
                                                 "does not exist; create it"):
        collect_files(src)


def test_shared_missing_folder_refused(tmp_path: Path) -> None:
    src = _source(tmp_path)
    (src / "shared.txt").write_text("_common.py\n")
    with pytest.raises(ConfigurationError, match="does not exist"):
        collect_files(src)


@pytest.mark.parametrize("clash", ["_common.py", "_common.py/"])
def test_shared_name_clash_refused(tmp_path: Path, clash: str) -> None:
    src = _shared_source(tmp_path)
    if clash.endswith("/"):
        (src / clash).mkdir()
    else:
        (src / clash).write_text("VALUE = 0\n")
    with pytest.raises(ConfigurationError, match=r"also lists '_common\.py'.*keep one"):
        collect_files(src)


def test_shared_symlinks_refused(tmp_path: Path) -> None:
    src = _shared_source(tmp_path, "_link.py\n")
    (tmp_path / "_shared" / "_link.py").symlink_to(tmp_path / "_shared" / "_common.py")
    with pytest.raises(ConfigurationError, match=r"_link\.py is a symlink"):
        collect_files(src)
    (src / "shared.txt").unlink()
    (src / "shared.txt").symlink_to(tmp_path / "listing.txt")
    (tmp_path / "listing.txt").write_text("_common.py\n")
    with pytest.raises(ConfigurationError, match=r"shared\.txt is a symlink"):
        collect_files(src)


def test_shared_folder_symlink_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "_common.py").write_bytes(SHARED_CODE)
    src = _source(tmp_path / "root")
    (tmp_path / "root" / "_shared").symlink_to(real, target_is_directory=True)
    (src / "shared.txt").write_text("_common.py\n")
    with pytest.raises(ConfigurationError, match=r"_shared is a symlink"):
        collect_files(src)


def test_build_all_skips_the_shared_folder(tmp_path: Path, factory: BundleFactory) -> None:
    _shared_source(tmp_path / "src")
    results = build_all(tmp_path / "src", tmp_path / "dist", factory.key)
    assert [r.path.name for r in results] == ["demo-1.2.0.pepperplugin"]
    assert "_common.py" in set(results[0].bundle.entries)
