"""PepperPy storage plugin: namespaced JSON documents in one SQLite file."""

from .provider import SQLiteStorageProvider

__all__ = ["SQLiteStorageProvider"]
