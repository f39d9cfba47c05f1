"""PepperPy storage plugin: namespaced JSON documents in PostgreSQL (psycopg 3)."""

from .provider import PostgresStorageProvider

__all__ = ["PostgresStorageProvider"]
