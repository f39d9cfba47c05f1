"""PepperPy's version: the one place it is written (pyproject.toml reads it from here).

A leaf module: it imports nothing, so any layer may read the version without importing
the package root (which would make an import cycle).
"""

__version__ = "0.1.0"
