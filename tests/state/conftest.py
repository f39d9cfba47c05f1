"""A PepperPy home with a trusted publisher and real signed echo bundles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pepperpy.settings import Settings


@dataclass
class Home:
    """A home folder, a publisher key trusted there, and bundle files to install."""

    root: Path  # holds home/, downloads/, and what tests add
    factory: object  # pepperpy.testing_bundles.BundleFactory

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home, checkout_plugins=False, auto_install=False)

    def bundle(self, version: str, *, name: str = "echo") -> Path:
        from plugins.fixtures.echo import echo_files

        from pepperpy.bundle.build import build_bytes

        path = self.root / "downloads" / f"{name}-{version}.pepperplugin"
        path.parent.mkdir(exist_ok=True)
        data = build_bytes(echo_files(marker=self.root / "marker", name=name,
                                      version=version), self.factory.key).data  # type: ignore[attr-defined]
        path.write_bytes(data)
        return path


@pytest.fixture
def home(tmp_path: Path) -> Home:
    from pepperpy.testing_bundles import BundleFactory

    made = Home(tmp_path / "base", BundleFactory(publisher="acme"))
    made.factory.trust(made.home)  # type: ignore[attr-defined]
    return made
