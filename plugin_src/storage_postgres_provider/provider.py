"""PostgreSQL storage: psycopg 3 async with a connection pool, JSONB values.

Invariants (the same semantics as the sqlite plugin, so applications can switch):
- every operation is one statement in autocommit mode, atomic on its own; ``put`` is
  ``INSERT ... ON CONFLICT DO UPDATE``, so concurrent writers never see a duplicate key;
- keys use the "C" collation: ``list`` sorts by code point (as Python and SQLite do) and
  matches prefixes with ``starts_with``, so ``%`` and ``_`` are ordinary characters;
- the table name is a validated identifier and is quoted with ``sql.Identifier``;
- no error message ever contains the DSN or the password: connection problems are
  reported with host, port, database and user only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pepperpy.core import (
    AuthenticationError,
    ConfigurationError,
    PepperpyError,
    ProviderTimeoutError,
    ServerError,
    ValidationError,
)
from pepperpy.storage import JSONValue, StorageProvider

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

__all__ = ["PostgresStorageProvider"]

_T = TypeVar("_T")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_PROVIDER = "postgres"
# SQLSTATE classes: 28 = invalid authorization, 3D = no such database, 42 = privileges.
_AUTH_STATES = {"28000", "28P01"}


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
    """Namespaces and keys are non-empty UTF-8 strings without NUL (text refuses NUL)."""
    ok = isinstance(name, str) and bool(name) and "\x00" not in name
    if ok:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            ok = False
    if not ok:
        raise ValidationError(
            f"storage {what} must be a non-empty UTF-8 string without NUL, got {name!r}"
        )


def describe_server(dsn: str) -> str:
    """``user@host:port/dbname`` from a DSN, never the password; ConfigurationError if bad."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        # The parser's message quotes the DSN (and so the password): drop it.
        raise ConfigurationError(
            "postgres storage: dsn is not a valid libpq connection string; use "
            "'postgresql://USER:PASSWORD@HOST:PORT/DBNAME' or 'host=... dbname=... user=...'"
        ) from None
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    port = parts.get("port") or "5432"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"{user}{host}:{port}/{parts.get('dbname') or '(default database)'}"


def translate(exc: BaseException, server: str) -> PepperpyError:
    """A PepperpyError with what to do for a psycopg/pool exception (no secrets)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    state = getattr(exc, "sqlstate", None) or ""
    text = str(exc).lower()
    if (
        state in _AUTH_STATES
        or "authentication failed" in text
        or "password" in text
        or ("role" in text and "does not exist" in text)
    ):
        return AuthenticationError(
            f"postgres storage: the server at {server} refused the credentials; check the "
            "user and password in the dsn (PEPPERPY_POSTGRES_DSN)",
            provider=_PROVIDER,
        )
    if state == "3D000" or ("does not exist" in text and "database" in text):
        return ConfigurationError(
            f"postgres storage: the database in {server} does not exist; create it "
            "(`createdb NAME`) or fix dbname in the dsn"
        )
    if state.startswith("42"):
        return ConfigurationError(
            f"postgres storage: the user in {server} may not use the storage table "
            f"(SQLSTATE {state}); grant it CREATE/SELECT/INSERT/UPDATE/DELETE or choose "
            "another table=..."
        )
    if isinstance(exc, PoolTimeout):
        return ProviderTimeoutError(
            f"postgres storage: no connection to {server} became free in time; raise "
            "max_size or timeout, or check the server is up",
            provider=_PROVIDER,
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | OSError):
        return ServerError(
            f"postgres storage: cannot reach the server at {server}; check it is running "
            "and that host and port in the dsn are right",
            provider=_PROVIDER,
        )
    return ServerError(
        f"postgres storage: the server at {server} failed the request "
        f"({type(exc).__name__}, SQLSTATE {state or 'none'}); retry or check its log",
        provider=_PROVIDER,
    )


class PostgresStorageProvider(StorageProvider):
    """Namespaced JSON documents in a PostgreSQL table, for multi-machine apps."""

    secret_keys = StorageProvider.secret_keys | {"dsn"}

    def __init__(
        self,
        *,
        dsn: str,
        table: str = "pepperpy_storage",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(
            dsn=dsn, table=table, min_size=min_size, max_size=max_size, timeout=timeout
        )
        if not _IDENTIFIER.fullmatch(table):
            raise ValidationError(
                f"postgres storage: table {table!r} is not a plain SQL identifier "
                "(letters, digits, underscore; not starting with a digit; at most 63)"
            )
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValidationError(
                f"postgres storage: need 0 <= min_size <= max_size and max_size >= 1 "
                f"(got min_size={min_size}, max_size={max_size})"
            )
        self._dsn = dsn
        self._table = table
        self._pool: AsyncConnectionPool | None = None
        self._server = ""
        self._sql: dict[str, Any] = {}

    async def initialize(self) -> None:
        import psycopg
        from psycopg_pool import AsyncConnectionPool

        self._server = describe_server(self._dsn)
        timeout = float(self.config["timeout"])
        # A probe connection first: the pool only reports "timed out" when it cannot
        # connect, while a direct attempt says why (refused, bad password, no database).
        try:
            probe = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=max(1, round(timeout))
            )
        except Exception as exc:
            raise translate(exc, self._server) from None  # psycopg text may quote the DSN
        try:
            await self._create_table(probe)
        except psycopg.Error as exc:
            raise translate(exc, self._server) from exc
        finally:
            await probe.close()
        pool: AsyncConnectionPool = AsyncConnectionPool(
            self._dsn,
            min_size=int(self.config["min_size"]),
            max_size=int(self.config["max_size"]),
            timeout=timeout,
            kwargs={"autocommit": True},
            open=False,
            name=f"pepperpy-storage-{self._table}",
        )
        try:
            await pool.open(wait=True, timeout=timeout)
        except Exception as exc:
            await pool.close()
            raise translate(exc, self._server) from None
        self._pool = pool
        self._prepare_sql()
        await super().initialize()

    async def cleanup(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
        await super().cleanup()

    async def _create_table(self, conn: AsyncConnection[Any]) -> None:
        from psycopg import sql

        # CREATE TABLE IF NOT EXISTS races with itself across processes (a unique
        # violation on pg_type); a transaction-scoped advisory lock serialises it.
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pepperpy:{self._table}",)
            )
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    ' namespace text COLLATE "C" NOT NULL,'
                    ' key text COLLATE "C" NOT NULL,'
                    " value jsonb NOT NULL,"
                    " updated_at timestamptz NOT NULL DEFAULT now(),"
                    " PRIMARY KEY (namespace, key))"
                ).format(sql.Identifier(self._table))
            )

    def _prepare_sql(self) -> None:
        from psycopg import sql

        table = sql.Identifier(self._table)
        self._sql = {
            "put": sql.SQL(
                "INSERT INTO {} (namespace, key, value, updated_at)"
                " VALUES (%s, %s, %s::jsonb, now())"
                " ON CONFLICT (namespace, key) DO UPDATE"
                " SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
            ).format(table),
            "get": sql.SQL("SELECT value FROM {} WHERE namespace = %s AND key = %s").format(table),
            "delete": sql.SQL("DELETE FROM {} WHERE namespace = %s AND key = %s").format(table),
            "list": sql.SQL(
                "SELECT key FROM {} WHERE namespace = %s AND key >= %s"
                " AND starts_with(key, %s) ORDER BY key"
            ).format(table),
        }

    async def _run(self, op: Callable[[AsyncConnection[Any]], Awaitable[_T]]) -> _T:
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._pool
        if pool is None:
            raise ConfigurationError(
                "postgres storage is not initialised; use it inside `async with "
                "PepperPy(...)` or call `await provider.initialize()` first"
            )
        try:
            async with pool.connection() as conn:
                return await op(conn)
        except psycopg.errors.UntranslatableCharacter as exc:
            raise ValidationError(
                "postgres storage: a value holds a character JSONB cannot store "
                "(\\u0000 in a string); remove it"
            ) from exc
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise translate(exc, self._server) from exc

    async def put(self, namespace: str, key: str, value: JSONValue) -> None:
        check_name("namespace", namespace)
        check_name("key", key)
        text = encode_value(key, value)

        async def op(conn: AsyncConnection[Any]) -> None:
            await conn.execute(self._sql["put"], (namespace, key, text))

        await self._run(op)

    async def get(self, namespace: str, key: str) -> JSONValue | None:
        check_name("namespace", namespace)
        check_name("key", key)

        async def op(conn: AsyncConnection[Any]) -> Any:
            cursor = await conn.execute(self._sql["get"], (namespace, key))
            return await cursor.fetchone()

        row = await self._run(op)
        return None if row is None else row[0]

    async def delete(self, namespace: str, key: str) -> bool:
        check_name("namespace", namespace)
        check_name("key", key)

        async def op(conn: AsyncConnection[Any]) -> int:
            cursor = await conn.execute(self._sql["delete"], (namespace, key))
            return cursor.rowcount

        return await self._run(op) > 0

    async def list(self, namespace: str, *, prefix: str = "") -> list[str]:
        check_name("namespace", namespace)
        if not isinstance(prefix, str) or "\x00" in prefix:
            raise ValidationError(f"storage prefix must be a string without NUL, got {prefix!r}")

        async def op(conn: AsyncConnection[Any]) -> list[Any]:
            cursor = await conn.execute(self._sql["list"], (namespace, prefix, prefix))
            return await cursor.fetchall()

        return [row[0] for row in await self._run(op)]
