"""Signed ``.pepperplugin`` bundles: format, build, verify, keys and trust.

No logic here. Import the stage you need (python-tuf style, one module per stage):
``zipformat`` (canonical ZIP), ``names`` (entry rules), ``manifest``/``model``
(plugin.json), ``keys`` (ed25519), ``signing`` (statement), ``verify`` (no I/O),
``trust`` (store), ``build`` (reproducible builds), ``limits`` (every bound).
"""

__all__: list[str] = []
