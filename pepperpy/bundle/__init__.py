"""The publisher's side of bundles: build, keys, the trust store file, inspect.

No logic here. Reading and verifying bundles is the trust kernel (:mod:`pepperpy.trust`);
this package holds what sits around it: ``build`` (reproducible builds and the archive
writer), ``keys`` (ed25519 key files), ``trust`` (the trust store file), ``inspect``
(what ``plugin inspect`` shows) and ``fileio`` (the one atomic writer).
"""

__all__: list[str] = []
