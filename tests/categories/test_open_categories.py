"""A category the core does not define: scaffolded, signed, verified, reached with use()."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pepperpy import PepperPy
from pepperpy.core import ConfigurationError, PluginNotFoundError, ValidationError
from pepperpy.plugins.manager import PluginManager
from pepperpy.registry import ProviderRegistry
from pepperpy.settings import Settings
from pepperpy_testing import FakeLLM, fake_registry
from pepperpy_testing.bundles import BundleFactory

ROOT = Path(__file__).resolve().parents[2]


def _new(tmp_path: Path, name: str, category: str) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "pepperpy", "plugin", "new", name, "--category", category,
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT),
                                                         "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return tmp_path / name


@pytest.fixture
def calendar_registry(tmp_path: Path) -> ProviderRegistry:
    """`plugin new --category calendar`, built and signed, found through the trust path."""
    source = _new(tmp_path, "calendar_demo_provider", "calendar")
    factory = BundleFactory(publisher="calendar-test")
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    (bundles / "calendar_demo_provider-0.1.0.pepperplugin").write_bytes(
        factory.build_folder(source))
    home = tmp_path / "home"
    factory.trust(home)
    settings = Settings(home=home, plugin_path=(bundles,), auto_install=False,
                        checkout_plugins=False, dev_mode=True)
    return ProviderRegistry(resolver=PluginManager(settings))


async def test_a_new_category_loads_through_the_verified_path_with_use(
    calendar_registry: ProviderRegistry,
) -> None:
    async with PepperPy(registry=calendar_registry) as pepper:
        calendar = pepper.use("calendar", "demo", greeting="meeting at 10")
        assert await calendar.describe() == "demo: meeting at 10"
        assert pepper.use("calendar", "demo") is not calendar
        assert await pepper.use("calendar", "demo").describe() == "demo: meeting at 10"
        provider = await calendar.get()
    assert provider.initialized is False  # cleaned up with the PepperPy object
    loaded = calendar_registry.load("calendar", "demo")
    assert "calendar_demo_provider-0.1.0.pepperplugin (calendar_demo_provider 0.1.0, key" in (
        loaded.origin)
    assert type(provider).__module__.startswith("_pepperpy_plugins.")  # the sealed import
    assert calendar_registry.available("calendar") == ["demo"]


async def test_a_tampered_bundle_of_a_new_category_is_refused(
    calendar_registry: ProviderRegistry, tmp_path: Path
) -> None:
    from pepperpy.core import TrustError

    bundle = next((tmp_path / "bundles").glob("*.pepperplugin"))
    data = bytearray(bundle.read_bytes())
    at = data.find(b"meeting") if b"meeting" in data else data.find(b"describe")
    data[at] ^= 0x20
    bundle.write_bytes(bytes(data))
    with pytest.raises((TrustError, PluginNotFoundError)):
        PepperPy(registry=calendar_registry).use("calendar", "demo")


async def test_use_works_for_known_categories_too() -> None:
    async with PepperPy(registry=fake_registry()) as pepper:
        llm = pepper.use("llm", "fake")
        result = await llm.generate([], __import__("pepperpy").GenerationOptions())
        assert isinstance(await llm.get(), FakeLLM)
        assert result.content == ""
        chat = await pepper.chat.with_user("hi").generate()  # the same provider
    assert chat.content == "hi"


def test_use_without_an_installed_provider_names_the_fix() -> None:
    with pytest.raises(PluginNotFoundError, match=r"no tts provider named 'espeak'.*install"):
        PepperPy(registry=fake_registry()).use("tts", "espeak")
    with pytest.raises(ValidationError, match="invalid provider category"):
        PepperPy(registry=fake_registry()).use("Text To Speech", "espeak")


async def test_a_method_the_provider_lacks_is_named() -> None:
    async with PepperPy(registry=fake_registry()) as pepper:
        with pytest.raises(ConfigurationError, match="has no method 'synthesize'"):
            await pepper.use("llm", "fake").synthesize("x")


def test_new_refuses_a_malformed_category(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pepperpy", "plugin", "new", "x_demo_provider", "--category",
         "Vision!"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert "invalid category 'Vision!'" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_category_names_are_checked_as_before_and_the_pattern_is_compiled_on_first_use() -> None:
    """``CATEGORY_NAME`` is compiled only when read (a load of a core category never
    needs it); names are judged by the same pattern either way."""
    import re

    import pepperpy.registry as registry

    assert registry.CATEGORY_NAME.pattern == r"[a-z][a-z0-9_]{0,31}"
    assert registry.CATEGORY_NAME is registry.CATEGORY_NAME  # re's cache: one object
    names = ["vision", "a", "a" * 32, "a" * 33, "Vision", "1a", "a-b", "a_b9", "", "ä", "a\n",
             " a", "speech_to_text", "x" * 31 + "1"]
    for name in names:
        expected = bool(re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name))
        if expected:
            assert registry.interface_for(name) is not None
        else:
            with pytest.raises(ValidationError, match="invalid provider category"):
                registry.interface_for(name)
    with pytest.raises(AttributeError):
        registry.NO_SUCH_NAME  # noqa: B018
