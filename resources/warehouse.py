"""The warehouse: where the SQL of `sql/` runs.

`Warehouse` is the interface the assets use; `DuckDBWarehouse` (local profile, one file) and
`BigQueryWarehouse` (gcp profile, one dataset, in `resources/bigquery.py` so the local profile
never imports the Google clients) implement it side by side. Assets never build
connection strings or choose dialects themselves: they ask the warehouse.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field


class WarehouseError(RuntimeError):
    """A statement failed; the message names the table or statement."""


class Warehouse(dg.ConfigurableResource, ABC):
    """What every asset may ask of a warehouse, whatever engine is behind it."""

    @property
    @abstractmethod
    def dialect(self) -> str:
        """The sqlglot dialect name of this engine ("duckdb" or "bigquery")."""

    @abstractmethod
    def table_ref(self, table: str) -> str:
        """The fully qualified name to use for `table` inside SQL text."""

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run one or more statements for their effect."""

    @abstractmethod
    def query(self, sql: str) -> pa.Table:
        """Run a query and return its result as an Arrow table."""

    def replace_rows(self, table: str, key_column: str, key_value: str, rows: pa.Table) -> None:
        """Atomically replace the rows of `table` where `key_column = key_value` with `rows`.

        Creates the table from `rows`' schema when it does not exist yet.
        """
        self.replace_rows_many(key_column, key_value, {table: rows})

    @abstractmethod
    def replace_rows_many(
        self, key_column: str, key_value: str, tables: Mapping[str, pa.Table]
    ) -> None:
        """`replace_rows` for several tables in ONE transaction: all of them change, or none."""

    @abstractmethod
    def export_parquet(self, select_sql: str, destination: str) -> list[str]:
        """Write the result of `select_sql` as Parquet files under the folder `destination`."""

    @abstractmethod
    def table_exists(self, table: str) -> bool: ...

    @abstractmethod
    def table_schema(self, table: str) -> list[tuple[str, str]]:
        """(column name, engine type) pairs of `table`, in table order."""

    def scalar(self, sql: str) -> Any:
        result = self.query(sql)
        if result.num_rows == 0:
            return None
        return result.column(0)[0].as_py()

    def row_count(self, table: str) -> int:
        return int(self.scalar(f"SELECT COUNT(*) FROM {self.table_ref(table)}"))

    def describe(self) -> str:
        """A human-readable location, safe to log (never credentials)."""
        return self.dialect


class DuckDBWarehouse(Warehouse):
    """A DuckDB file. One process may write at a time: connections retry while it is locked.

    DuckDB takes an exclusive file lock per process. Concurrent runs (a backfill of many slices)
    therefore wait for one another here, with jittered retries, instead of failing; writes are
    short transactions, so the wait is bounded by the longest single statement.
    """

    database: str = Field(description="Path of the DuckDB file.")
    memory_limit: str = Field(
        default="4GB", description="DuckDB memory_limit; larger work spills to temp_directory."
    )
    temp_directory: str | None = Field(
        default=None, description="Spill folder; default: '<database>.tmp' beside the file."
    )
    threads: int | None = Field(default=None, description="DuckDB threads; default: all cores.")
    lock_timeout_seconds: float = Field(
        default=1800.0, description="How long to wait for another process's write lock."
    )

    @property
    def dialect(self) -> str:
        return "duckdb"

    def table_ref(self, table: str) -> str:
        return table

    def describe(self) -> str:
        return f"duckdb:{self.database}"

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        import duckdb

        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        temp_directory = self.temp_directory or f"{self.database}.tmp"
        config: dict[str, Any] = {
            "memory_limit": self.memory_limit,
            "temp_directory": temp_directory,
            "preserve_insertion_order": False,
        }
        if self.threads:
            config["threads"] = self.threads
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                connection = duckdb.connect(self.database, config=config)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 1.5, 2.0)
        try:
            yield connection
        finally:
            connection.close()

    def execute(self, sql: str) -> None:
        with self.connect() as connection:
            try:
                connection.execute(sql)
            except Exception as error:
                raise WarehouseError(
                    f"DuckDB statement failed: {error}\n--- SQL ---\n{sql}"
                ) from error

    def query(self, sql: str) -> pa.Table:
        with self.connect() as connection:
            try:
                relation = connection.sql(sql)
                if relation is None:
                    raise WarehouseError(f"not a query (returns no rows): {sql[:200]}")
                return relation.to_arrow_table()
            except Exception as error:
                raise WarehouseError(f"DuckDB query failed: {error}\n--- SQL ---\n{sql}") from error

    def replace_rows_many(
        self, key_column: str, key_value: str, tables: Mapping[str, pa.Table]
    ) -> None:
        with self.connect() as connection:
            try:
                connection.execute("BEGIN TRANSACTION")
                for table, rows in tables.items():
                    connection.register("_incoming_rows", rows)
                    connection.execute(
                        f"CREATE TABLE IF NOT EXISTS {table} AS "
                        "SELECT * FROM _incoming_rows LIMIT 0"
                    )
                    connection.execute(f"DELETE FROM {table} WHERE {key_column} = ?", [key_value])
                    connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming_rows")
                    connection.unregister("_incoming_rows")
                connection.execute("COMMIT")
            except Exception as error:
                connection.execute("ROLLBACK")
                raise WarehouseError(
                    f"replacing rows of {', '.join(tables)} where {key_column} = {key_value!r} "
                    f"failed: {error}"
                ) from error

    def export_parquet(self, select_sql: str, destination: str) -> list[str]:
        os.makedirs(destination, exist_ok=True)
        target = os.path.join(destination, "part-0.parquet")
        with self.connect() as connection:
            connection.execute(
                f"COPY ({select_sql}) TO '{target}' (FORMAT parquet, ROW_GROUP_SIZE 65536)"
            )
        return [target]

    def table_exists(self, table: str) -> bool:
        count = self.scalar(
            "SELECT COUNT(*) FROM information_schema.tables "
            f"WHERE table_name = '{table}' AND table_schema = current_schema()"
        )
        return bool(count)

    def table_schema(self, table: str) -> list[tuple[str, str]]:
        result = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND table_schema = current_schema() "
            "ORDER BY ordinal_position"
        )
        return list(zip(result.column(0).to_pylist(), result.column(1).to_pylist(), strict=True))
