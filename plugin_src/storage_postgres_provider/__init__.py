"""PepperPy storage plugin: JSON documents in PostgreSQL (psycopg 3).

Entry point ``provider:PostgresStorageProvider``.
"""

from .provider import PostgresStorageProvider

__all__ = ["PostgresStorageProvider"]
