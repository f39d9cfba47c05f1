"""The two-parser ZIP64 archive, dropped into a plugin folder, never runs code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pepperpy import PepperPy, PluginError
from pepperpy.plugins.doctor import diagnose
from pepperpy.plugins.manager import PluginManager
from pepperpy.settings import Settings
from pepperpy.testing_bundles import BundleFactory, marker_plugin_files, zip64_confusion


def _llm_marker_plugin(marker: Path) -> dict[str, bytes]:
    files = marker_plugin_files(marker)
    manifest = json.loads(files["plugin.json"])
    files["markerplugin.py"] = (
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('module ran')\n"
        "from pepperpy.testing import FakeLLM as Provider\n"
    ).encode()
    files["plugin.json"] = json.dumps(manifest).encode()
    return files


def test_zip64_confusion_in_a_plugin_folder_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    factory = BundleFactory(publisher="acme")
    good = factory.build(_llm_marker_plugin(marker))
    evil = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('shadow ran')\n"
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "markerplugin-1.0.0.pepperplugin").write_bytes(
        zip64_confusion(good, "markerplugin/__init__.py", evil.encode())
    )
    home = tmp_path / "home"
    factory.trust(home)
    settings = Settings(home=home, dev_mode=True, plugin_path=(folder,), checkout_plugins=False)

    with pytest.raises(PluginError):  # unreadable manifest: nothing offers it
        PepperPy(settings=settings).with_llm("markerplugin")
    rows = diagnose(PluginManager(settings))
    assert [(Path(r.path).name, r.state) for r in rows] == [
        ("markerplugin-1.0.0.pepperplugin", "invalid")
    ]
    assert rows[0].fix
    assert not marker.exists()

    # The same plugin, built honestly, loads: the refusal is about the layout.
    (folder / "markerplugin-1.0.0.pepperplugin").write_bytes(good)
    PepperPy(settings=Settings(home=home, dev_mode=True, plugin_path=(folder,),
                               checkout_plugins=False)).with_llm("markerplugin")
    assert marker.read_text() == "module ran"
