"""The BigQuery warehouse (gcp profile), beside DuckDB's in `resources/warehouse.py`.

Kept in its own module so that loading the local profile never imports the Google Cloud
clients (they cost seconds at every process start).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from dagster_gcp import BigQueryResource
from pydantic import Field

from resources.warehouse import Warehouse, WarehouseError


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
