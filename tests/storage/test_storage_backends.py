"""What differs between the storage plugins: files and defaults, servers and errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from support.postgres import PostgresCluster, free_port

from pepperpy.core import (
    AuthenticationError,
    ConfigurationError,
    PepperpyError,
    ServerError,
    ValidationError,
)
from pepperpy.registry import ProviderRegistry

# -- sqlite ---------------------------------------------------------------------------


async def test_sqlite_defaults_to_the_data_folder_in_wal_mode(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    provider = registry.create("storage", "sqlite", {"data_dir": str(tmp_path / "data")})
    await provider.initialize()
    try:
        await provider.put("ns", "k", {"v": 1})
    finally:
        await provider.cleanup()
    db = tmp_path / "data" / "storage.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = conn.execute("SELECT namespace, key, value FROM pepperpy_storage").fetchall()
    assert rows == [("ns", "k", '{"v":1}')]


async def test_pepperpy_passes_its_data_folder_to_sqlite(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    from pepperpy.pepperpy import PepperPy

    pepper = PepperPy(registry=registry, data_dir=tmp_path / "app").with_storage("sqlite")
    async with pepper:
        provider = await pepper._provider("storage")
        await provider.put("ns", "k", [1, 2])
    assert (tmp_path / "app" / "storage.sqlite3").is_file()


async def test_sqlite_without_a_file_says_what_to_pass(registry: ProviderRegistry) -> None:
    provider = registry.create("storage", "sqlite", {})
    with pytest.raises(ConfigurationError, match=r"path=\.\.\. or data_dir"):
        await provider.initialize()


async def test_sqlite_refuses_a_file_that_is_not_a_database(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    bogus = tmp_path / "not-a-db"
    bogus.write_bytes(b"definitely not sqlite" * 100)
    provider = registry.create("storage", "sqlite", {"path": str(bogus)})
    with pytest.raises(PepperpyError, match="not-a-db"):
        await provider.initialize()


async def test_sqlite_operations_before_initialize_are_refused(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    provider = registry.create("storage", "sqlite", {"path": str(tmp_path / "x.sqlite3")})
    with pytest.raises(ConfigurationError, match="initialize"):
        await provider.get("ns", "k")


# -- postgres -------------------------------------------------------------------------


async def test_postgres_dsn_comes_from_the_environment(
    registry: ProviderRegistry,
    postgres_cluster: PostgresCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEPPERPY_POSTGRES_DSN", postgres_cluster.tcp_dsn())
    provider = registry.create("storage", "postgres", {"table": "from_env"})
    await provider.initialize()
    try:
        await provider.put("ns", "k", "v")
        assert await provider.get("ns", "k") == "v"
    finally:
        await provider.cleanup()


def test_postgres_without_dsn_names_the_environment_variable(
    registry: ProviderRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEPPERPY_POSTGRES_DSN", raising=False)
    with pytest.raises(ValidationError, match="PEPPERPY_POSTGRES_DSN"):
        registry.create("storage", "postgres", {})


async def test_postgres_wrong_password_is_an_authentication_error_without_secrets(
    registry: ProviderRegistry, postgres_cluster: PostgresCluster
) -> None:
    secret = "wrong-s3cret-pw"
    dsn = postgres_cluster.tcp_dsn(password=secret)
    provider = registry.create("storage", "postgres", {"dsn": dsn})
    with pytest.raises(AuthenticationError) as caught:
        await provider.initialize()
    assert "password" in str(caught.value)
    _assert_no_secret(caught.value, secret)
    assert secret not in repr(provider)


async def test_postgres_unreachable_server_is_a_server_error(
    registry: ProviderRegistry,
) -> None:
    secret = "unreachable-pw"
    dsn = f"postgresql://someone:{secret}@127.0.0.1:{free_port()}/db"
    provider = registry.create("storage", "postgres", {"dsn": dsn, "timeout": 3})
    with pytest.raises(ServerError, match="running") as caught:
        await provider.initialize()
    assert caught.value.retryable
    _assert_no_secret(caught.value, secret)


async def test_postgres_missing_database_is_a_configuration_error(
    registry: ProviderRegistry, postgres_cluster: PostgresCluster
) -> None:
    dsn = postgres_cluster.dsn("no_such_db")
    provider = registry.create("storage", "postgres", {"dsn": dsn})
    with pytest.raises(ConfigurationError, match="createdb"):
        await provider.initialize()


async def test_postgres_malformed_dsn_is_refused_without_echoing_it(
    registry: ProviderRegistry,
) -> None:
    secret = "malformed-pw"
    provider = registry.create("storage", "postgres", {"dsn": f"host=x password={secret} =="})
    with pytest.raises(ConfigurationError, match="dsn") as caught:
        await provider.initialize()
    _assert_no_secret(caught.value, secret)


@pytest.mark.parametrize("table", ["1abc", "x; DROP TABLE y", "a-b", "a" * 64])
def test_postgres_table_must_be_an_identifier(
    registry: ProviderRegistry, postgres_cluster: PostgresCluster, table: str
) -> None:
    with pytest.raises(ValidationError, match="table"):
        registry.create("storage", "postgres", {"dsn": postgres_cluster.dsn(), "table": table})


async def test_postgres_stores_jsonb(
    registry: ProviderRegistry, postgres_cluster: PostgresCluster
) -> None:
    import psycopg

    provider = registry.create(
        "storage", "postgres", {"dsn": postgres_cluster.dsn(), "table": "jsonb_check"}
    )
    await provider.initialize()
    try:
        await provider.put("ns", "k", {"a": [1, 2]})
    finally:
        await provider.cleanup()
    with psycopg.connect(postgres_cluster.dsn()) as conn:
        row = conn.execute(
            "SELECT pg_typeof(value)::text, value -> 'a' ->> 1 FROM jsonb_check"
        ).fetchone()
    assert row == ("jsonb", "2")


def _assert_no_secret(error: BaseException, secret: str) -> None:
    """Neither the error nor anything chained to it may show the secret."""
    seen: BaseException | None = error
    while seen is not None:
        assert secret not in str(seen), f"secret leaked in {type(seen).__name__}: {seen}"
        seen = seen.__cause__ or seen.__context__
