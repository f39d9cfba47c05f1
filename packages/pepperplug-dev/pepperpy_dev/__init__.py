"""PepperPy for plugin authors and index publishers (the ``pepperplug-dev`` distribution).

- ``scaffold``: ``pepperpy plugin new`` (a plugin folder that passes its own tests) and
  ``plugin lint``;
- ``repository`` and ``signer``: the publisher side of a plugin index (``pepperpy repo``);
- ``cli``: the commands it adds to ``pepperpy`` (``plugin new|lint|build``, ``keygen``,
  ``repo``), found through the ``pepperpy.commands`` entry points.

The bundle format and its builder are part of the runtime (``pepperpy``): an application
in developer mode builds source folders in memory.
"""

__all__: list[str] = []
