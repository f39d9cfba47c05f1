"""The main job's distribution path: publish to a local index, serve it, install by name.

``pepperpy demo`` builds its bundles, then calls :func:`publish_and_install`: the
bundles go into a TUF repository under ``PEPPERPY_HOME/demo-index`` (signed with the
demo's development key), a real static file server serves it on 127.0.0.1, the index is
added with its pinned root, and every plugin is installed by name through the same path
as ``pepperpy plugin install NAME``. Offline, and a second run downloads nothing.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from pepperpy.core import ValidationError
from pepperpy.settings import Settings

__all__ = ["INDEX_NAME", "publish_and_install", "static_server"]

INDEX_NAME = "demo"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) until the block ends."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # shutdown() waits for the loop's next poll: 0.5 s by default, on every demo run
    serve = functools.partial(server.serve_forever, poll_interval=0.02)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def publish_and_install(bundles: list[Path], key: Path, settings: Settings, *,
                        say: Callable[[str], None]) -> list[str]:
    """Publish ``bundles`` (signed with ``key``) and install each plugin by name."""
    from pepperpy.bundle.trust import TrustStore
    from pepperpy.distribution.fetch import Session, add_index
    from pepperpy.distribution.repository import Repository
    from pepperpy.distribution.signer import load_signer
    from pepperpy.distribution.store import IndexStore

    folder = settings.home / "demo-index"
    signer = load_signer(key)
    trust = TrustStore(settings.trust_file).snapshot()
    repo = Repository(folder)
    if not (folder / "metadata" / "1.root.json").is_file():
        repo.init(key=signer)
        say(f"created a local plugin index (TUF) in {folder}")
    reset = False
    try:
        added = repo.add(bundles, signers=[signer], trust=trust)
    except ValidationError:
        # A bundle rebuilt with other bytes under the same version (a source edit without
        # a version bump): an index never changes a version's bytes, so start it over.
        say("a bundle changed without a new version: starting the local index over")
        shutil.rmtree(folder)
        repo.init(key=signer)
        added = repo.add(bundles, signers=[signer], trust=trust)
        reset = True
    fresh = [a.path for a in added if a.action == "added"]
    say(f"index: {len(fresh)} bundle(s) published, {len(added) - len(fresh)} already there")
    store = IndexStore(settings)
    with static_server(folder) as url:
        say(f"serving the index at {url} (a static file server on loopback)")
        if any(c.name == INDEX_NAME for c in store.list()):
            store.remove(INDEX_NAME)  # the port changes every run
        add_index(settings, INDEX_NAME, url, folder / "metadata" / "1.root.json")
        session = Session(settings, index=INDEX_NAME, progress=say)
        names = sorted({o.name for o in session.offers()})
        for name in names:
            outcome = session.install(name, deps=False, force=reset)
            say(f"plugin install {name}: {outcome.action} {outcome.offer.version} "
                f"(from index {INDEX_NAME!r})")
    return names
