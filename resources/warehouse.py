"""The warehouse: where the SQL of `sql/` runs.

`Warehouse` is the interface the assets use; `DuckDBWarehouse` (local profile, one file) and
`BigQueryWarehouse` (gcp profile, one dataset) implement it side by side. Assets never build
connection strings or choose dialects themselves: they ask the warehouse.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
from dagster_gcp import BigQueryResource
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
                return connection.execute(sql).to_arrow_table()
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


class BigQueryWarehouse(Warehouse):
    """A BigQuery dataset, through `dagster_gcp.BigQueryResource`."""

    bigquery: BigQueryResource
    dataset: str = Field(description="BigQuery dataset holding the warehouse tables.")
    project: str = Field(description="Google Cloud project of the dataset.")
    location: str = Field(default="US", description="BigQuery location (region) of the dataset.")

    @property
    def dialect(self) -> str:
        return "bigquery"

    def table_ref(self, table: str) -> str:
        return f"`{self.project}.{self.dataset}.{table}`"

    def describe(self) -> str:
        return f"bigquery:{self.project}.{self.dataset}"

    def _run(self, sql: str, **job_config: Any) -> Any:
        from google.cloud import bigquery

        with self.bigquery.get_client() as client:
            config = bigquery.QueryJobConfig(**job_config) if job_config else None
            job = client.query(sql, job_config=config, location=self.location)
            return job.result()

    def execute(self, sql: str) -> None:
        self._run(sql)

    def query(self, sql: str) -> pa.Table:
        return self._run(sql).to_arrow()

    def dry_run(self, sql: str) -> int:
        """Validate `sql` on BigQuery without running it; returns the bytes it would process."""
        from google.cloud import bigquery

        with self.bigquery.get_client() as client:
            job = client.query(
                sql,
                job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False),
                location=self.location,
            )
            return int(job.total_bytes_processed or 0)

    def replace_rows_many(
        self, key_column: str, key_value: str, tables: Mapping[str, pa.Table]
    ) -> None:
        from google.cloud import bigquery

        suffix = "__staging_" + re.sub(r"\W", "_", key_value)
        refs = {table: f"{self.project}.{self.dataset}.{table}" for table in tables}
        script = []
        with self.bigquery.get_client() as client:
            for table, rows in tables.items():
                client.load_table_from_dataframe(
                    rows.to_pandas(),
                    refs[table] + suffix,
                    job_config=bigquery.LoadJobConfig(write_disposition="WRITE_TRUNCATE"),
                ).result()
                script.append(
                    f"CREATE TABLE IF NOT EXISTS `{refs[table]}` LIKE `{refs[table]}{suffix}`;"
                )
            script.append("BEGIN TRANSACTION;")
            for table in tables:
                script.append(f"DELETE FROM `{refs[table]}` WHERE {key_column} = @key;")
                script.append(f"INSERT INTO `{refs[table]}` SELECT * FROM `{refs[table]}{suffix}`;")
            script.append("COMMIT TRANSACTION;")
            script.extend(f"DROP TABLE `{refs[table]}{suffix}`;" for table in tables)
            client.query(
                "\n".join(script),
                job_config=bigquery.QueryJobConfig(
                    query_parameters=[bigquery.ScalarQueryParameter("key", "STRING", key_value)]
                ),
                location=self.location,
            ).result()

    def export_parquet(self, select_sql: str, destination: str) -> list[str]:
        if not destination.startswith("gs://"):
            raise WarehouseError(f"BigQuery can only export to gs://, not {destination!r}")
        uri = destination.rstrip("/") + "/part-*.parquet"
        self.execute(
            f"EXPORT DATA OPTIONS (uri = '{uri}', format = 'PARQUET', overwrite = true) AS\n"
            f"{select_sql}"
        )
        import fsspec

        filesystem, _ = fsspec.core.url_to_fs(destination)
        return sorted("gs://" + path for path in filesystem.glob(uri))

    def table_exists(self, table: str) -> bool:
        count = self.scalar(
            f"SELECT COUNT(*) FROM `{self.project}.{self.dataset}.INFORMATION_SCHEMA.TABLES` "
            f"WHERE table_name = '{table}'"
        )
        return bool(count)

    def table_schema(self, table: str) -> list[tuple[str, str]]:
        result = self.query(
            "SELECT column_name, data_type "
            f"FROM `{self.project}.{self.dataset}.INFORMATION_SCHEMA.COLUMNS` "
            f"WHERE table_name = '{table}' ORDER BY ordinal_position"
        )
        return list(zip(result.column(0).to_pylist(), result.column(1).to_pylist(), strict=True))
