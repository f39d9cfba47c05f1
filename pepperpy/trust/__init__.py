"""The trust kernel: from a bundle file's bytes to the first import of its code.

Read top to bottom with ``docs/security.md`` beside it: ``types`` (the values), ``archive``
(the canonical ZIP), ``authentic`` (pure: is it signed by a trusted key?), ``manifest``
(``plugin.json``), ``admissible`` (pure: may it be used here?), ``gate`` (the only I/O),
``sealed`` (imports a ``VerifiedBundle`` from its verified bytes). Nothing here imports
anything above it (``tests/trust/test_kernel_shape.py``).
"""

__all__: list[str] = []
