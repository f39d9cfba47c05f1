"""Builds the home the damaged-state tests copy (real keys, bundles, an index)."""

from __future__ import annotations

from pathlib import Path

from crash import pepperpy


def build_home(root: Path) -> dict[str, Path]:
    from plugins.fixtures.echo import echo_files

    from pepperpy.bundle.build import build_bytes
    from pepperpy.bundle.keys import SigningKey, generate_key
    from pepperpy.testing_bundles import BundleFactory

    home = root / "home"
    factory = BundleFactory(publisher="acme")
    factory.trust(home)
    revoked = SigningKey.generate()
    (root / "revoked.pub").write_bytes(revoked.public_key.pem())
    (root / "revoked_id").write_text(revoked.key_id)
    other = SigningKey.generate()
    pub = root / "other.pub"
    pub.write_bytes(other.public_key.pem())
    bundle = root / "echo-1.0.0.pepperplugin"
    bundle.write_bytes(build_bytes(echo_files(marker=root / "marker"), factory.key).data)
    key = generate_key(publisher="index", out_dir=root / "keys").private_path
    steps = [
        ("trust", "add", root / "revoked.pub"), ("trust", "revoke", revoked.key_id),
        ("plugin", "install", bundle),
        ("repo", "init", root / "repo", "--key", key),
        ("repo", "add", root / "repo", bundle, "--key", key),
        ("index", "add", "main", (root / "repo").as_uri(), "--root",
         root / "repo" / "metadata" / "1.root.json"),
        ("plugin", "list"),
    ]
    for step in steps:
        done = pepperpy(home, *step)
        assert done.returncode == 0, (step, done.stderr)
    (home / "dependencies.json").write_text('{"format": 1, "plugins": {"echo": []}}\n')
    return {"home": home, "pub": pub, "bundle": bundle, "revoked_id": root / "revoked_id"}
