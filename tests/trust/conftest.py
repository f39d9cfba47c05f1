"""The plugin tests' throwaway home, keys and bundles (``tests/plugins/conftest.py``)."""

from plugins.conftest import env  # noqa: F401  (a fixture, used by name)
