"""Sign a plugin yourself, trust your key, install the bundle, and use it.

Runs in a throwaway PEPPERPY_HOME so it leaves your real trust store alone:

    python examples/third_party_plugin/run.py
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def pepperpy(*args: str) -> str:
    """Run the pepperpy CLI and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "pepperpy", *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


async def use_it() -> None:
    from pepperpy import PepperPy

    async with PepperPy().with_llm("shout", suffix="!!") as pepper:
        result = await pepper.chat.with_user("signed plugins are fun").generate()
        print(result.content)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PEPPERPY_HOME"] = str(Path(tmp) / "home")
        keys, dist = Path(tmp) / "keys", Path(tmp) / "dist"
        print(pepperpy("keygen", "--publisher", "example", "--out", str(keys)))
        bundle = pepperpy("plugin", "build", str(HERE / "llm_shout_provider"),
                          "--key", str(keys / "example.key"), "--out", str(dist))
        print(pepperpy("trust", "add", str(keys / "example.pub"), "--publisher", "example"))
        print(pepperpy("plugin", "verify", bundle.splitlines()[-1]))
        print(pepperpy("plugin", "install", bundle.splitlines()[-1]))
        asyncio.run(use_it())


if __name__ == "__main__":
    main()
