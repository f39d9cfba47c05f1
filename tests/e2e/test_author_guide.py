"""The plugin author guide's test recipe, run as written (with the example plugin)."""

from __future__ import annotations

from pathlib import Path

from pepperpy import PepperPy, Settings
from pepperpy.testing import BundleFactory

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third_party_plugin"


async def test_shout(tmp_path: Path) -> None:
    factory = BundleFactory(publisher="example")
    dist = tmp_path / "dist"
    dist.mkdir()
    bundle = factory.build_folder(EXAMPLE / "llm_shout_provider")
    (dist / "llm_shout_provider-1.0.0.pepperplugin").write_bytes(bundle)
    home = tmp_path / "home"
    factory.trust(home)
    settings = Settings(home=home, plugin_path=(dist,), auto_install=False)
    async with PepperPy(settings=settings).with_llm("shout") as pepper:
        result = await pepper.chat.with_user("hello").generate()
    assert result.content == "HELLO!"
