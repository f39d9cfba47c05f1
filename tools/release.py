"""The release rehearsal (``make dist``): everything a maintainer uploads, under ``dist/``.

    dist/pepperplug-V-py3-none-any.whl, pepperplug-V.tar.gz     the runtime
    dist/pepperplug_dev-V-..., pepperplug_testing-V-...          authors, publishers, tests
    dist/plugins/<name>-<version>.pepperplugin                   every plugin_src/ folder, signed
    dist/index/metadata/, dist/index/targets/                    a static TUF plugin index site
    dist/index/metadata/1.root.json                              the root users pin (out of band)
    dist/publisher.pub                                           the key the bundles are signed with

Keys: ``--key`` signs the bundles, ``--index-key`` every index role (default: ``--key``).
Without them the rehearsal makes throwaway keys in a temporary folder and deletes them at
the end: the site then works (serve it, pin its root) but can never be updated, which is
what a rehearsal wants. Private keys are never written under ``dist/``.

Every step runs the ``pepperpy`` command a publisher would type (``keygen``, ``plugin
build``, ``repo init``, ``repo add``), so the rehearsal exercises the stable CLI contract.

usage: python tools/release.py [--out DIR] [--key KEYFILE] [--index-key KEYFILE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dists import ROOT, build_all

PUBLISHER = "pepperpy-release"


def _pepperpy(*args: str | Path, home: Path) -> str:
    env = {**os.environ, "PEPPERPY_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "pepperpy", *map(str, args)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"pepperpy {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def _public_key(key: Path) -> Path:
    """The .pub beside a key file, as `keygen` writes it."""
    pub = key.with_suffix(".pub")
    if not pub.is_file():
        raise SystemExit(f"{pub} not found: --key takes a key written by `pepperpy keygen` "
                         "(NAME.key beside NAME.pub)")
    return pub


def rehearse(out: Path, *, key: Path | None = None, index_key: Path | None = None,
             plugins: Path = ROOT / "plugin_src") -> dict[str, Path]:
    """Lay out ``out``; returns the paths a user or a test needs."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="pepperpy-release-") as tmp:
        work, home = Path(tmp), Path(tmp) / "home"
        if key is None:
            _pepperpy("keygen", "--publisher", PUBLISHER, "--out", work / "keys", home=home)
            key = work / "keys" / f"{PUBLISHER}.key"
            print("signing with throwaway keys (pass KEY=... INDEX_KEY=... for a release)")
        index_key = index_key or key
        pub = _public_key(key)
        shutil.copyfile(pub, out / "publisher.pub")
        wheels = build_all(out, workdir=work / "stage")
        bundles = _pepperpy("plugin", "build", "--all", "--src", plugins, "--key", key,
                            "--out", out / "plugins", home=home).split()
        _pepperpy("repo", "init", out / "index", "--key", index_key, home=home)
        _pepperpy("repo", "add", out / "index", *bundles, "--key", index_key,
                  "--publisher-key", pub, home=home)
    # the publisher's lock file, not part of the site
    (out / "index" / ".pepperpy-repo.lock").unlink(missing_ok=True)
    return {"root": out / "index" / "metadata" / "1.root.json", "index": out / "index",
            "publisher": out / "publisher.pub", **{p.name: p for p in wheels}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    parser.add_argument("--key", type=Path, help="publisher key that signs the bundles")
    parser.add_argument("--index-key", type=Path, help="key for the index roles "
                        "(default: --key)")
    args = parser.parse_args(argv)
    made = rehearse(args.out.resolve(), key=args.key, index_key=args.index_key)
    for path in sorted(args.out.glob("*")):
        print(path)
    print(f"\nserve {made['index']} from any static host; users pin its root:\n"
          f"  pepperpy index add NAME URL --root {made['root']} --trust-publishers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
