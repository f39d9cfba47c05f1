"""SQLite storage: one file, WAL, safe with several writers.

Invariants:
- every operation is one SQL statement in autocommit mode, so each ``put`` and
  ``delete`` is atomic on its own and never holds a lock across an ``await``;
- WAL lets readers run while one writer writes; ``busy_timeout`` makes a writer wait
  for another connection or process instead of failing with "database is locked";
- keys sort and match by their exact characters (BINARY collation, no ``LIKE``), so
  ``%`` and ``_`` in keys and prefixes are ordinary characters;
- values are stored as canonical JSON text; anything ``json`` cannot encode exactly
  (NaN, infinity, arbitrary objects) is refused before it reaches the file.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pepperpy.core import ConfigurationError, ServerError, ValidationError
from pepperpy.storage import JSONValue, StorageProvider

__all__ = ["SQLiteStorageProvider"]

_T = TypeVar("_T")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def encode_value(key: str, value: JSONValue) -> str:
    """Canonical JSON text for ``value``, or a ValidationError that names ``key``."""
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(
            f"storage value for key {key!r} is not JSON-serialisable ({exc}); store only "
            "dict, list, str, int, finite float, bool or None"
        ) from exc


def check_name(what: str, name: str) -> None:
    """Namespaces and keys are non-empty strings without NUL (PostgreSQL refuses NUL)."""
    if not isinstance(name, str) or not name or "\x00" in name or not _encodable(name):
        raise ValidationError(
            f"storage {what} must be a non-empty UTF-8 string without NUL, got {name!r}"
        )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SQLiteStorageProvider(StorageProvider):
    """Namespaced JSON documents in one SQLite file (the embedded default)."""

    def __init__(
        self,
        *,
        path: str | None = None,
        data_dir: str | None = None,
        table: str = "pepperpy_storage",
        busy_timeout_ms: int = 10_000,
    ) -> None:
        super().__init__(path=path, data_dir=data_dir, table=table, busy_timeout_ms=busy_timeout_ms)
        if not _IDENTIFIER.fullmatch(table):
            raise ValidationError(
                f"sqlite storage: table {table!r} is not a plain SQL identifier "
                "(letters, digits, underscore; not starting with a digit)"
            )
        self._table = table
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        # One connection per provider; sqlite3 objects are not safe to share between
        # threads at once, and to_thread may pick any worker, so calls take this lock.
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The database file: ``path`` if given, else ``data_dir/storage.sqlite3``."""
        if self.config.get("path"):
            return Path(self.config["path"]).expanduser()
        if self.config.get("data_dir"):
            return Path(self.config["data_dir"]).expanduser() / "storage.sqlite3"
        raise ConfigurationError(
            "sqlite storage: no database file; pass path=... or data_dir=... "
            "(PepperPy sets data_dir to the application's data folder)"
        )

    async def initialize(self) -> None:
        path = self.path
        self._conn = await asyncio.to_thread(self._open, path)
        await super().initialize()

    async def cleanup(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(self._close, conn)
        await super().cleanup()

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path,
                timeout=self._busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"sqlite storage: cannot open {path} ({exc}); check the folder exists "
                "and is writable, or pass another path=..."
            ) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable in WAL mode except on power loss
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} ("
                " namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
                " updated_at REAL NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID"
            )
        except sqlite3.Error as exc:
            conn.close()
            raise ServerError(
                f"sqlite storage: cannot prepare {path} ({exc}); is it a SQLite database?",
                provider="sqlite",
            ) from exc
        return conn

    @staticmethod
    def _close(conn: sqlite3.Connection) -> None:
        conn.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._conn
        if conn is None:
            raise ConfigurationError(
                "sqlite storage is not initialised; use it inside `async with PepperPy(...)` "
                "or call `await provider.initialize()` first"
            )

        def call() -> _T:
            with self._lock:
                try:
                    return fn(conn)
                except sqlite3.OperationalError as exc:
                    raise ServerError(
                        f"sqlite storage: {exc} ({self.path}); another process may hold a "
                        "long write lock; retry, or raise busy_timeout_ms",
                        provider="sqlite",
                    ) from exc

        return await asyncio.to_thread(call)

    async def put(self, namespace: str, key: str, value: JSONValue) -> None:
        check_name("namespace", namespace)
        check_name("key", key)
        text = encode_value(key, value)
        sql = (
            f"INSERT INTO {self._table} (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at"
        )
        await self._run(lambda c: c.execute(sql, (namespace, key, text, time.time())))

    async def get(self, namespace: str, key: str) -> JSONValue | None:
        check_name("namespace", namespace)
        check_name("key", key)
        sql = f"SELECT value FROM {self._table} WHERE namespace = ? AND key = ?"
        row = await self._run(lambda c: c.execute(sql, (namespace, key)).fetchone())
        return None if row is None else json.loads(row[0])

    async def delete(self, namespace: str, key: str) -> bool:
        check_name("namespace", namespace)
        check_name("key", key)
        sql = f"DELETE FROM {self._table} WHERE namespace = ? AND key = ?"
        cursor = await self._run(lambda c: c.execute(sql, (namespace, key)))
        return cursor.rowcount > 0

    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        check_name("namespace", namespace)
        if not isinstance(prefix, str) or "\x00" in prefix:
            raise ValidationError(f"storage prefix must be a string without NUL, got {prefix!r}")
        # ``key >= prefix`` uses the primary key index; substr() then checks the exact
        # characters (SQLite counts characters, like Python's len). No LIKE: it is
        # case-insensitive in SQLite and treats % and _ as wildcards.
        sql = (
            f"SELECT key FROM {self._table} WHERE namespace = ? AND key >= ?"
            " AND substr(key, 1, ?) = ? ORDER BY key"
        )
        args: tuple[Any, ...] = (namespace, prefix, len(prefix), prefix)
        rows = await self._run(lambda c: c.execute(sql, args).fetchall())
        return [row[0] for row in rows]
