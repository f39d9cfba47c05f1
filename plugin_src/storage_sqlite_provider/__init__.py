"""PepperPy storage plugin: JSON documents in one SQLite file.

Entry point ``provider:SQLiteStorageProvider``.
"""

from .provider import SQLiteStorageProvider

__all__ = ["SQLiteStorageProvider"]
