"""Plugin distribution over The Update Framework (TUF): signed plugin indexes.

No logic here. One module per stage, python-tuf style:

* ``config``: every limit, timeout and default expiry, in one place;
* ``signer``: PepperPy's ed25519 key files as TUF signers (private keys stay hidden);
* ``repository``: the publisher side (``pepperpy repo``): static files, consistent
  snapshots, one atomic publish per change;
* ``catalog``: what a verified targets role offers, and the choice of a version
  (no I/O);
* ``fetcher``: HTTP and ``file://`` downloads with timeouts and size limits;
* ``store``: the client's configured indexes and pinned roots under PEPPERPY_HOME;
* ``client``: one ``tuf.ngclient.Updater`` per index, TUF errors translated;
* ``fetch``: install, update and outdated by name, through today's install path;
* ``mirror``: copy a verified snapshot of an index to a folder;
* ``autofetch``: install a missing provider on first use, when switched on;
* ``loopback``: the main job's path (publish, serve on 127.0.0.1, install by name).

Trust rules: the root of trust is a file the operator pinned (never fetched on first
use); ngclient checks freshness, rollback, mix-and-match, lengths, hashes and slow
retrieval; a downloaded bundle then goes through the unchanged bundle verification,
so trusting an index never trusts a new publisher.
"""

__all__: list[str] = []
