"""Sealed imports: what runs is the verified bytes, whatever happens on disk afterwards.

Each plugin here is a real signed bundle loaded through the plugin manager. Every module
appends ``<module>-<tag>`` to a marker file when it runs and every data file holds the
tag, so a test can tell bundle A (verified) from bundle B (validly signed by the same
trusted key, same name, version and layout, other code) byte for byte.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import importlib.util
import inspect
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from pepperpy.bundle.build import build_bytes
from pepperpy.core import PluginLoadError
from pepperpy.plugins.install import install_bundle
from pepperpy.trust.sealed import (
    NAMESPACE,
    SealedImporter,
    import_bundle,
    package_name,
)

SWAP_VARIABLE = "PEPPERPY_TEST_SEALED_SWAP"

INIT = '''\
import os, pathlib
pathlib.Path({marker!r}).open("a").write("init-{tag}\\n")
if os.environ.get({swap!r}):  # an attacker's move, between verification and import
    source, home = os.environ.pop({swap!r}).split(os.pathsep)
    new = pathlib.Path(source).read_bytes()
    for path in sorted(pathlib.Path(home).rglob("*")):
        if path.is_file():
            temp = path.with_name(path.name + ".swap")
            temp.write_bytes(new)
            os.replace(temp, path)
'''

PROVIDER = '''\
import pathlib
from importlib import resources

from pepperpy.llm import GenerationResult, LLMProvider

pathlib.Path({marker!r}).open("a").write("provider-{tag}\\n")
TAG = "{tag}"


class EchoProvider(LLMProvider):
    async def generate(self, messages, options):
        return GenerationResult(content=TAG)

    async def generate_stream(self, messages, options):
        yield None

    @staticmethod
    def lazy_value():
        from . import lazy  # imported only now, long after the load
        return lazy.VALUE

    @staticmethod
    def data_value():
        return resources.files(__package__).joinpath("data/greeting.txt").read_text()

    @staticmethod
    def fail():
        from .tools import explode
        explode()
'''

LAZY = '''\
import pathlib
pathlib.Path({marker!r}).open("a").write("lazy-{tag}\\n")
VALUE = "lazy {tag}"
'''

TOOLS = '''\
def explode():
    raise RuntimeError("boom from bundle {tag}")  # the line a traceback must show
'''


def _files(marker: Path, tag: str, *, name: str = "echo",
           extra: dict[str, str] | None = None) -> list[tuple[str, bytes]]:
    manifest = (
        f'{{"name": "{name}", "version": "1.0.0", "category": "llm", '
        f'"provider_name": "{name}", "entry_point": "provider:EchoProvider"}}'
    )
    sources = {"__init__.py": INIT, "provider.py": PROVIDER, "lazy.py": LAZY,
               "tools.py": TOOLS, "data/greeting.txt": "greeting {tag}\n",
               "data/sub/deep.json": '{{"tag": "{tag}"}}\n', **(extra or {})}
    files = {n: s.format(marker=str(marker), tag=tag, swap=SWAP_VARIABLE).encode()
             for n, s in sources.items()}
    files["plugin.json"] = manifest.encode()
    return sorted(files.items())


def _bundle(env, pub, tag: str, **options) -> bytes:
    return build_bytes(_files(env.marker, tag, **options), pub.key).data


def _install(env, data: bytes, filename: str = "echo.pepperplugin") -> Path:
    path = env.write(env.tmp / "downloads", filename, data)
    return install_bundle(path, settings=env.settings).path


def _replace_every_file(home: Path, data: bytes) -> list[Path]:
    """Replace every file under ``home`` (installed bundle, state, caches, any pinned
    copy) with ``data``, as an attacker with write access to the folder would."""
    replaced = []
    for path in sorted(home.rglob("*")):
        if path.is_file():
            temp = path.with_name(path.name + ".swap")
            temp.write_bytes(data)
            os.replace(temp, path)
            replaced.append(path)
    return replaced


def _load_a_then_swap_to_b(env):
    pub = env.publisher()
    installed = _install(env, _bundle(env, pub, "A"))
    provider_class = env.registry().load("llm", "echo").provider_class
    assert env.marker_lines() == ["init-A", "provider-A"]
    replaced = _replace_every_file(env.settings.home, _bundle(env, pub, "B"))
    assert installed in replaced
    return provider_class


def test_entry_module_is_the_verified_one_when_files_change_before_its_import(env, monkeypatch):
    pub = env.publisher()
    _install(env, _bundle(env, pub, "A"))
    b_file = env.write(env.tmp / "attacker", "b.pepperplugin", _bundle(env, pub, "B"))
    # A's __init__.py runs first (it is the package) and replaces every file under the
    # home before provider.py, the entry module, is imported.
    monkeypatch.setenv(SWAP_VARIABLE, os.pathsep.join([str(b_file), str(env.settings.home)]))
    provider_class = env.registry().load("llm", "echo").provider_class
    assert SWAP_VARIABLE not in os.environ  # the swap did happen
    assert (env.settings.plugins_dir / "echo.pepperplugin").read_bytes() == b_file.read_bytes()
    assert env.marker_lines() == ["init-A", "provider-A"]
    assert sys.modules[provider_class.__module__].TAG == "A"


def test_imported_bytes_are_the_verified_ones_when_the_file_changes_before_the_import(env):
    """Between the check and the import (where uv may run for minutes) the file is
    replaced by another bundle of a trusted key: what runs is still what was verified."""
    pub = env.publisher()
    installed = _install(env, _bundle(env, pub, "A"))
    manager = env.manager()
    chosen = manager.choose("llm", "echo")
    assert chosen is not None and env.marker_lines() == []
    installed.write_bytes(_bundle(env, pub, "B"))
    provider_class = manager.load(chosen, "llm").provider_class
    assert sys.modules[provider_class.__module__].TAG == "A"
    assert env.marker_lines() == ["init-A", "provider-A"]


def test_lazily_imported_submodule_is_the_verified_one_after_files_change(env):
    provider_class = _load_a_then_swap_to_b(env)
    assert provider_class.lazy_value() == "lazy A"
    assert env.marker_lines() == ["init-A", "provider-A", "lazy-A"]


def test_data_file_is_the_verified_one_after_files_change(env):
    provider_class = _load_a_then_swap_to_b(env)
    module = sys.modules[provider_class.__module__]
    assert provider_class.data_value() == "greeting A\n"
    assert module.__loader__.get_data("data/greeting.txt") == b"greeting A\n"
    package = importlib.resources.files(module.__package__)
    assert (package / "data" / "sub" / "deep.json").read_bytes() == b'{"tag": "A"}\n'
    assert "B" not in inspect.getsource(provider_class.lazy_value.__globals__["EchoProvider"])


def test_traceback_shows_the_verified_source_line(env):
    provider_class = _load_a_then_swap_to_b(env)
    with pytest.raises(RuntimeError) as info:
        provider_class.fail()
    text = "".join(traceback.format_exception(info.value))
    installed = env.settings.plugins_dir / "echo.pepperplugin"
    assert f'File "{installed}/tools.py", line 2, in explode' in text
    assert 'raise RuntimeError("boom from bundle A")  # the line a traceback must show' in text
    assert f'File "{installed}/provider.py"' in text and "explode()" in text


def test_traceback_lines_come_from_the_verified_bytes_when_a_folder_replaces_the_bundle(env):
    """The bundle's path becomes a folder holding other sources at the very names a
    traceback shows: the lines shown are still the verified ones (never read from disk)."""
    import linecache
    import shutil

    pub = env.publisher()
    installed = _install(env, _bundle(env, pub, "A"))
    provider_class = env.registry().load("llm", "echo").provider_class
    installed.unlink()
    installed.mkdir()
    (installed / "tools.py").write_text("def explode():\n    ATTACKER_LINE = 1\n")
    (installed / "provider.py").write_text("ATTACKER_PROVIDER_LINE\n" * 80)
    linecache.checkcache()  # what traceback does before it reads any line
    try:
        with pytest.raises(RuntimeError) as info:
            provider_class.fail()
        text = "".join(traceback.format_exception(info.value))
    finally:
        shutil.rmtree(installed)
    assert 'raise RuntimeError("boom from bundle A")  # the line a traceback must show' in text
    assert "ATTACKER" not in text


STORE = """\
from pepperpy.storage import StorageProvider
from .tools import explode


class Store(StorageProvider):
    async def put(self, namespace, key, value):
        explode()

    async def get(self, namespace, key):
        return None

    async def delete(self, namespace, key):
        return False

    async def list(self, namespace, *, prefix=""):
        return []
"""


def test_verified_lines_wait_for_linecache_when_the_load_does_not_import_it(env):
    """A fresh process loads a plugin that imports nothing that needs ``linecache`` (nor
    does the load); a folder then replaces the bundle, and ``linecache`` is imported only
    for the traceback: the lines shown are still the verified ones, and ``linecache`` is
    an ordinary module with its own loader afterwards."""
    pub = env.publisher()
    manifest = ('{"name": "store", "version": "1.0.0", "category": "storage", '
                '"provider_name": "store", "entry_point": "provider:Store"}')
    files = [("plugin.json", manifest.encode()), ("provider.py", STORE.encode()),
             ("tools.py", TOOLS.format(tag="A").encode())]
    installed = _install(env, build_bytes(files, pub.key).data, "store.pepperplugin")
    code = f"""
import sys
from pathlib import Path
from pepperpy.plugins.manager import PluginManager
from pepperpy.registry import ProviderRegistry
from pepperpy.settings import Settings
settings = Settings(home=Path({str(env.settings.home)!r}), auto_install=False,
                    checkout_plugins=False)
cls = ProviderRegistry(resolver=PluginManager(settings)).load("storage", "store").provider_class
assert "linecache" not in sys.modules, "the load and the plugin must not import linecache"
installed = Path({str(installed)!r})
installed.unlink()
installed.mkdir()
(installed / "provider.py").write_text("ATTACKER_PROVIDER_LINE\\n" * 80)
(installed / "tools.py").write_text("def explode():\\n    ATTACKER_LINE = 1\\n" * 20)
import asyncio, linecache, traceback
linecache.checkcache()
try:
    asyncio.run(cls().put("n", "k", 1))
except RuntimeError as exc:
    print("".join(traceback.format_exception(exc)))
print("own loader:", linecache.__loader__ is linecache.__spec__.loader,
      type(linecache.__loader__).__name__)
print("hooks left:", [f for f in sys.meta_path if type(f).__module__ == "pepperpy._lines"])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=env.tmp, check=False)
    assert out.returncode == 0, out.stderr
    assert f'File "{installed}/provider.py", line 7, in put' in out.stdout
    assert f'File "{installed}/tools.py", line 2, in explode' in out.stdout
    assert "explode()" in out.stdout and "boom from bundle A" in out.stdout
    assert "ATTACKER" not in out.stdout
    assert "own loader: True SourceFileLoader" in out.stdout
    assert "hooks left: []" in out.stdout


ENCODED = {
    "bom.py": b"\xef\xbb\xbfX = '\xc3\xa9'\n",
    "latin.py": b"# -*- coding: latin-1 -*-\nX = '\xe9'\n",
    "second.py": b"#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nX = '\xe9'\n",
    "utf8.py": "X = '\u00e9'  # no cookie: UTF-8\n".encode(),
    "crlf.py": "X = '\u00e9'\r\nY = 2\r\n".encode(),
}


def test_traceback_lines_decode_every_source_encoding_as_python_does(env):
    """The lines put in ``linecache`` are the module's source as Python decodes it: a
    BOM, a coding cookie on the first or second line, plain UTF-8, CRLF line ends."""
    import linecache

    pub = env.publisher()
    files = sorted([*_files(env.marker, "A"), *ENCODED.items()])
    installed = _install(env, build_bytes(files, pub.key).data)
    provider_class = env.registry().load("llm", "echo").provider_class
    package = sys.modules[provider_class.__module__].__package__
    for name, raw in ENCODED.items():
        module = importlib.import_module(f"{package}.{name[:-3]}")
        assert module.X == "\u00e9", name
        expected = importlib.util.decode_source(raw.replace(b"\r\n", b"\n"))
        assert linecache.getlines(f"{installed}/{name}") == expected.splitlines(True), name


def test_module_attributes_follow_zipimport(env):
    pub = env.publisher()
    installed = _install(env, _bundle(env, pub, "A"))
    provider_class = env.registry().load("llm", "echo").provider_class
    module = sys.modules[provider_class.__module__]
    package = sys.modules[module.__package__]
    loader = module.__loader__
    assert isinstance(loader, SealedImporter) and package.__loader__ is loader
    assert module.__name__ == f"{module.__package__}.provider"
    assert module.__package__.startswith(f"{NAMESPACE}.echo_")
    assert module.__spec__.origin == module.__file__ == f"{installed}/provider.py"
    assert package.__file__ == f"{installed}/__init__.py"
    assert package.__path__ == [] and not hasattr(module, "__path__")
    assert loader.is_package(package.__name__) and not loader.is_package(module.__name__)
    assert loader.get_source(module.__name__) == dict(_files(env.marker, "A"))[
        "provider.py"].decode()
    assert loader.get_data(module.__file__) == loader.get_data("provider.py")
    assert loader.get_filename(module.__name__) == module.__file__
    with pytest.raises(FileNotFoundError):
        loader.get_data(".pepperpy-signature")  # verified, but not plugin data
    with pytest.raises(ImportError):
        loader.get_source(f"{module.__package__}.absent")


def test_resources_traverse_the_verified_bundle(env):
    pub = env.publisher()
    _install(env, _bundle(env, pub, "A", extra={"data/__init__.py": ""}))
    provider_class = env.registry().load("llm", "echo").provider_class
    package = sys.modules[provider_class.__module__].__package__
    root = importlib.resources.files(package)
    greeting = root.joinpath("data/greeting.txt")
    assert greeting.is_file() and not greeting.is_dir()
    assert greeting.read_bytes() == b"greeting A\n" and greeting.name == "greeting.txt"
    assert root.joinpath("data", "sub", "deep.json").read_text() == '{"tag": "A"}\n'
    with greeting.open("rb") as stream:
        assert stream.read() == b"greeting A\n"
    assert root.is_dir() and root.joinpath("data").is_dir()
    names = sorted(p.name for p in root.iterdir())
    assert names == ["__init__.py", "data", "lazy.py", "plugin.json", "provider.py",
                     "tools.py"]
    assert sorted(p.name for p in (root / "data").iterdir()) == [
        "__init__.py", "greeting.txt", "sub"]
    missing = root / "data" / "nope.txt"
    assert not missing.is_file() and not missing.is_dir()
    with pytest.raises(FileNotFoundError):
        missing.read_bytes()
    with pytest.raises(NotADirectoryError):
        list(greeting.iterdir())
    with importlib.resources.as_file(greeting) as copy:  # a temporary copy, then gone
        assert Path(copy).read_bytes() == b"greeting A\n"
    sub = importlib.resources.files(f"{package}.data")  # a subpackage's own folder
    assert sub.joinpath("greeting.txt").read_text() == "greeting A\n"
    assert importlib.resources.files(f"{package}.data.sub").joinpath(
        "deep.json").is_file()  # a folder without __init__.py


def test_failed_import_leaves_no_module_behind(env):
    pub = env.publisher()
    broken = _bundle(env, pub, "A", extra={
        "provider.py": "from . import lazy\nfrom . import helper\n",
        "helper.py": "raise ValueError('broken on purpose')\n"})
    _install(env, broken)
    with pytest.raises(PluginLoadError, match="broken on purpose"):
        env.registry().load("llm", "echo")
    assert env.marker_lines() == ["init-A", "lazy-A"]  # the modules did run, then went
    package = package_name("echo", hashlib.sha256(broken).hexdigest())
    assert not [m for m in sys.modules if m == package or m.startswith(package + ".")]
    with pytest.raises(ModuleNotFoundError):  # nor is the bundle left registered
        importlib.import_module(f"{package}.lazy")
    with pytest.raises(PluginLoadError):  # and a second try runs it all again
        env.registry().load("llm", "echo")
    assert env.marker_lines() == ["init-A", "lazy-A", "init-A", "lazy-A"]


def test_failed_lazy_import_leaves_no_module_and_unknown_modules_are_not_found(env):
    pub = env.publisher()
    _install(env, _bundle(env, pub, "A", extra={"late.py": "raise KeyError('late')\n"}))
    provider_class = env.registry().load("llm", "echo").provider_class
    package = sys.modules[provider_class.__module__].__package__
    with pytest.raises(KeyError):
        importlib.import_module(f"{package}.late")
    assert f"{package}.late" not in sys.modules
    (env.tmp / "absent.py").write_text("raise SystemExit('a file on disk ran')\n")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"{package}.absent")


def test_two_plugins_with_the_same_module_names_keep_their_own_code_and_data(env):
    pub = env.publisher()
    _install(env, _bundle(env, pub, "A"))
    _install(env, _bundle(env, pub, "P", name="parrot"), "parrot.pepperplugin")
    registry = env.registry()
    echo = registry.load("llm", "echo").provider_class
    parrot = registry.load("llm", "parrot").provider_class
    assert echo.__module__ != parrot.__module__
    assert (echo.lazy_value(), parrot.lazy_value()) == ("lazy A", "lazy P")
    assert (echo.data_value(), parrot.data_value()) == ("greeting A\n", "greeting P\n")


def test_only_a_bundle_the_gate_verified_is_imported(env):
    """The importer takes a VerifiedBundle the gate issued, never bytes plus a claim: a
    hand-made one (other bytes under a verified bundle's digest and manifest) runs nothing."""
    from dataclasses import replace

    pub = env.publisher()
    genuine = build_bytes(_files(env.marker, "A"), pub.key)
    other = _bundle(env, pub, "B")
    forged = replace(genuine, data=other)
    for fake in (forged, genuine.data, (genuine.data, genuine.digest)):
        with pytest.raises(TypeError, match=r"issued by pepperpy\.trust\.gate"):
            import_bundle(fake, location=env.tmp / "x")  # type: ignore[arg-type]
    assert env.marker_lines() == []
    assert import_bundle(genuine, location=env.tmp / "x").__name__ == "EchoProvider"
    assert env.marker_lines() == ["init-A", "provider-A"]


def test_the_loader_module_is_cheap_to_import():
    code = ("import sys, pepperpy.trust.sealed\n"
            "print(sorted(m for m in sys.modules if m.startswith(('importlib.resources', "
            "'importlib.abc', 'zipfile', 'tempfile', 'pepperpy.bundle'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_an_issued_bundle_is_forgotten_when_it_dies_and_its_id_vouches_for_no_other(env):
    """The gate remembers what it issued by weak reference: the entry goes when the bundle
    dies, and an entry counts only for the very object it was made for (an id can be
    reused by a later object)."""
    import gc
    from dataclasses import replace

    from pepperpy.trust import gate

    pub = env.publisher()
    genuine = build_bytes(_files(env.marker, "A"), pub.key)
    other = build_bytes(_files(env.marker, "B"), pub.key)
    forged = replace(genuine, data=_bundle(env, pub, "B"))
    assert gate.issued(genuine) and gate.issued(other) and not gate.issued(forged)
    held = gate._ISSUED[id(other)]
    gate._ISSUED[id(forged)] = held  # as if ``forged`` had taken a dead bundle's id
    try:
        assert not gate.issued(forged)
        with pytest.raises(TypeError, match=r"issued by pepperpy\.trust\.gate"):
            import_bundle(forged, location=env.tmp / "x")
    finally:
        del gate._ISSUED[id(forged)]
    key = id(genuine)
    del genuine
    gc.collect()
    assert key not in gate._ISSUED and gate._ISSUED[id(other)] is held
    assert env.marker_lines() == []
