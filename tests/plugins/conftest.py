"""Fixtures for plugin-manager tests: a throwaway PEPPERPY_HOME, keys, real bundles.

Bundles are built by the real builder (``pepperpy.bundle.build.build_bytes``) and signed
with throwaway ed25519 keys; keys are trusted through the real ``TrustStore``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pepperpy.settings import Settings
from plugins.fixtures.echo import echo_files


@dataclass
class Publisher:
    key: Any
    name: str

    @property
    def key_id(self) -> str:
        return self.key.key_id

    def pub_pem(self) -> bytes:
        return self.key.public_key.pem()


@dataclass
class Env:
    """A temporary PepperPy home with helpers to build, trust and place bundles."""

    settings: Settings
    tmp: Path
    marker: Path

    def publisher(self, name: str = "acme", *, trusted: bool = True) -> Publisher:
        from pepperpy.bundle.keys import SigningKey

        pub = Publisher(SigningKey.generate(), name)
        if trusted:
            self.trust(pub)
        return pub

    def trust(self, pub: Publisher) -> None:
        from pepperpy.bundle.trust import TrustStore

        TrustStore(self.settings.trust_file).add(pub.pub_pem(), publisher=pub.name)

    def bundle(self, pub: Publisher, **options: Any) -> bytes:
        from pepperpy.bundle.build import build_bytes

        options.setdefault("marker", self.marker)
        return build_bytes(echo_files(**options), pub.key).data

    def write(self, folder: Path, filename: str, data: bytes) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / filename
        path.write_bytes(data)
        return path

    def with_settings(self, **changes: Any) -> Env:
        return replace(self, settings=replace(self.settings, **changes))

    def marker_lines(self) -> list[str]:
        return self.marker.read_text().split() if self.marker.exists() else []

    def manager(self, **options: Any) -> Any:
        from pepperpy.plugins.manager import PluginManager

        return PluginManager(self.settings, **options)

    def registry(self, **options: Any) -> Any:
        from pepperpy.registry import ProviderRegistry

        return ProviderRegistry(resolver=self.manager(**options))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    home = tmp_path / "home"
    monkeypatch.setenv("PEPPERPY_HOME", str(home))
    monkeypatch.delenv("PEPPERPY_PLUGIN_PATH", raising=False)
    monkeypatch.delenv("PEPPERPY_DEV_PLUGINS", raising=False)
    monkeypatch.delenv("PEPPERPY_DEV", raising=False)
    monkeypatch.chdir(tmp_path)
    # never this checkout's own dist_plugins, even where a test turns development mode on
    settings = Settings(home=home, auto_install=False, checkout_plugins=False)
    return Env(settings=settings, tmp=tmp_path, marker=tmp_path / "imported.txt")


@pytest.fixture
def no_warnings() -> Callable[[], Any]:
    def catch() -> Any:
        return warnings.catch_warnings(record=True)

    return catch
