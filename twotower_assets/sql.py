"""Loading the warehouse SQL of `sql/` and rendering it for one engine.

Each `sql/<table>.sql` is written once, in BigQuery's dialect, as a single SELECT; `{{ name }}`
placeholders take parameters (integers only). `render` fills them, qualifies the table names the
graph creates for the engine, and transpiles with sqlglot for DuckDB. `sql_code_version` hashes
the file text: editing a query makes exactly its asset stale. `build_table` and
`load_enrichment` run them on a warehouse (plain functions; the assets in warehouse.py call them).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlglot
from sqlglot import exp

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def sql_path(name: str) -> Path:
    return SQL_DIR / f"{name}.sql"


def load_sql(name: str) -> str:
    path = sql_path(name)
    if not path.exists():
        raise FileNotFoundError(f"no SQL file for table {name!r}: expected {path}")
    return path.read_text(encoding="utf-8")


def sql_code_version(name: str) -> str:
    return hashlib.sha256(load_sql(name).encode("utf-8")).hexdigest()[:16]


def fill_parameters(text: str, params: Mapping[str, int | float]) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in params:
            raise KeyError(f"SQL parameter {{{{ {key} }}}} has no value; given: {sorted(params)}")
        value = params[key]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"SQL parameter {key} must be a number, got {value!r}")
        return repr(value)

    return _PLACEHOLDER.sub(substitute, text)


def referenced_tables(name: str, params: Mapping[str, int | float] | None = None) -> set[str]:
    """Table names the query reads (CTE names excluded), from the BigQuery form."""
    tree = sqlglot.parse_one(fill_parameters(load_sql(name), params or {}), read="bigquery")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def render(
    name: str,
    dialect: str,
    params: Mapping[str, int | float] | None = None,
    table_ref: Callable[[str], str] | None = None,
    pid_batch: tuple[int, int] | None = None,
) -> str:
    """The SELECT of `sql/<name>.sql` for `dialect`, with tables qualified by `table_ref`.

    `pid_batch=(index, count)` restricts every read of `playlist_tracks` to the playlists with
    `MOD(pid, count) = index` (see `build_table`).
    """
    text = fill_parameters(load_sql(name), params or {})
    return render_text(text, dialect, table_ref, pid_batch)


def render_text(
    text: str,
    dialect: str,
    table_ref: Callable[[str], str] | None = None,
    pid_batch: tuple[int, int] | None = None,
) -> str:
    """Any BigQuery-dialect statement (a check query, a DDL) for `dialect`, tables qualified."""
    tree = sqlglot.parse_one(text, read="bigquery")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    if pid_batch is not None:
        index, count = pid_batch
        for table in list(tree.find_all(exp.Table)):
            if table.name == "playlist_tracks" and table.name not in ctes:
                alias = table.alias_or_name
                batch = sqlglot.parse_one(
                    f"SELECT * FROM playlist_tracks WHERE MOD(pid, {count}) = {index}",
                    read="bigquery",
                )
                table.replace(batch.subquery(alias))
    if table_ref is not None:
        for table in list(tree.find_all(exp.Table)):
            if table.name and table.name not in ctes and not table.db:
                qualified = sqlglot.parse_one(table_ref(table.name), read=dialect, into=exp.Table)
                alias = table.args.get("alias")
                if alias is not None:
                    qualified.set("alias", alias)
                table.replace(qualified)
    return tree.sql(dialect=dialect, pretty=True)


# ---------------------------------------------------------------------------------------------
# Building the warehouse tables (plain functions over a `Warehouse`; no Dagster).

# Tables that exist in the warehouse because the graph writes them: the ingest tables, the
# enrichment tables loaded by `load_enrichment`, and the five built from `sql/`.
INGEST_TABLES = frozenset({"playlists", "playlist_tracks"})
ENRICHMENT_TABLES = frozenset({"track_enrichment", "artist_enrichment"})
BUILT_TABLES = (
    "tracks",
    "training_pairs",
    "holdout_playlists",
    "holdout_seeds",
    "holdout_hidden",
)
GRAPH_TABLES = INGEST_TABLES | ENRICHMENT_TABLES | frozenset(BUILT_TABLES)

# The seed's NDJSON layout (seed_system.md 1.2): file name -> warehouse table.
ENRICHMENT_FILES = {
    "track_enrichment": "unique_track_features.json",
    "artist_enrichment": "unique_artists_features.json",
}
# Flag parameter of tracks.sql telling it to use each enrichment table.
ENRICHMENT_FLAGS = {
    "track_enrichment": "use_track_enrichment",
    "artist_enrichment": "use_artist_enrichment",
}
_ENRICHMENT_DDL = {
    "track_enrichment": "CREATE OR REPLACE TABLE track_enrichment "
    "(track_uri STRING, track_pop FLOAT64)",
    "artist_enrichment": "CREATE OR REPLACE TABLE artist_enrichment "
    "(artist_uri STRING, artist_pop FLOAT64, artist_genres ARRAY<STRING>, "
    "artist_followers FLOAT64)",
}
# From the raw loaded file to the typed table: one row per URI (a duplicated URI would fan out
# the catalogue join), numbers as FLOAT64, genres as an array of strings.
_ENRICHMENT_NORMALIZE = {
    "track_enrichment": """
        CREATE OR REPLACE TABLE track_enrichment AS
        SELECT CAST(track_uri AS STRING) AS track_uri, CAST(track_pop AS FLOAT64) AS track_pop
        FROM track_enrichment_raw
        WHERE track_uri IS NOT NULL
        QUALIFY ROW_NUMBER() OVER (PARTITION BY track_uri ORDER BY track_pop DESC) = 1""",
    "artist_enrichment": """
        CREATE OR REPLACE TABLE artist_enrichment AS
        SELECT
          CAST(artist_uri AS STRING) AS artist_uri,
          CAST(artist_pop AS FLOAT64) AS artist_pop,
          CAST(artist_genres AS ARRAY<STRING>) AS artist_genres,
          CAST(artist_followers AS FLOAT64) AS artist_followers
        FROM artist_enrichment_raw
        WHERE artist_uri IS NOT NULL
        QUALIFY ROW_NUMBER() OVER (PARTITION BY artist_uri ORDER BY artist_pop DESC) = 1""",
}


class _WarehouseLike(Protocol):
    """The part of `resources.warehouse.Warehouse` used here (kept structural: no Dagster)."""

    @property
    def dialect(self) -> str: ...

    def table_ref(self, table: str) -> str: ...

    def execute(self, sql: str) -> None: ...

    def scalar(self, sql: str) -> Any: ...

    def table_schema(self, table: str) -> list[tuple[str, str]]: ...


@dataclass(frozen=True)
class BuiltTable:
    """What one `CREATE OR REPLACE TABLE` produced."""

    table: str
    rows: int
    seconds: float
    columns: list[tuple[str, str]] = field(default_factory=list)


def build_table(
    warehouse: _WarehouseLike,
    name: str,
    params: Mapping[str, int | float],
    pid_batches: int = 1,
) -> BuiltTable:
    """Replace table `name` with the result of `sql/<name>.sql` rendered for the warehouse.

    With `pid_batches > 1` the query runs once per pid bucket (`MOD(pid, pid_batches)`) into a
    staging table that then replaces `name` in one transaction. Only valid for SQL whose rows
    depend on one playlist at a time (training_pairs): it bounds the memory of the window
    sort on an embedded engine, so the cost stays linear instead of spilling. Readers see the
    old table until the swap.
    """
    started = time.perf_counter()
    target = warehouse.table_ref(name)
    if pid_batches <= 1:
        select = render(name, warehouse.dialect, params, warehouse.table_ref)
        warehouse.execute(f"CREATE OR REPLACE TABLE {target} AS\n{select}")
    else:
        staging = warehouse.table_ref(f"{name}__building")
        for index in range(pid_batches):
            select = render(
                name, warehouse.dialect, params, warehouse.table_ref, (index, pid_batches)
            )
            if index == 0:
                warehouse.execute(f"CREATE OR REPLACE TABLE {staging} AS\n{select}")
            else:
                warehouse.execute(f"INSERT INTO {staging}\n{select}")
        warehouse.execute(
            f"BEGIN TRANSACTION; DROP TABLE IF EXISTS {target}; "
            f"ALTER TABLE {staging} RENAME TO {name}; COMMIT;"
        )
    seconds = time.perf_counter() - started
    rows = int(warehouse.scalar(f"SELECT COUNT(*) FROM {warehouse.table_ref(name)}"))
    return BuiltTable(name, rows, seconds, warehouse.table_schema(name))


# Playlist-track rows per pid bucket of the DuckDB pair build. Measured at 100k playlists (6.5M
# rows, 2 cores): 14 buckets of ~500k took 108 CPU s, 4 buckets of ~2M took 119 CPU s; smaller
# window sorts stay in cache and far from the memory limit.
ROWS_PER_PAIR_BATCH = 500_000


def pair_batches(warehouse: _WarehouseLike, rows_per_batch: int = ROWS_PER_PAIR_BATCH) -> int:
    """How many pid buckets the pair build should use: 1 on BigQuery (it scales out itself)."""
    if warehouse.dialect != "duckdb":
        return 1
    rows = int(warehouse.scalar(f"SELECT COUNT(*) FROM {warehouse.table_ref('playlist_tracks')}"))
    return max(1, -(-rows // rows_per_batch))


def run_query_text(warehouse: _WarehouseLike, text: str) -> None:
    """Execute one BigQuery-dialect statement on the warehouse (transpiled, tables qualified)."""
    warehouse.execute(render_text(text, warehouse.dialect, warehouse.table_ref))


def load_enrichment(warehouse: _WarehouseLike, enrichment_dir: str | None) -> dict[str, int]:
    """Load the enrichment NDJSON files found in `enrichment_dir` into the warehouse.

    Both enrichment tables always exist afterwards (empty when their file is absent), so
    tracks.sql has one shape; the returned flags (`use_track_enrichment`, ...) tell it which
    to use.
    """
    flags: dict[str, int] = {}
    for table, file_name in ENRICHMENT_FILES.items():
        path = _enrichment_file(enrichment_dir, file_name)
        if path is None:
            run_query_text(warehouse, _ENRICHMENT_DDL[table])
            flags[ENRICHMENT_FLAGS[table]] = 0
            continue
        _load_raw_ndjson(warehouse, path, f"{table}_raw")
        try:
            run_query_text(warehouse, _ENRICHMENT_NORMALIZE[table])
        except Exception as error:
            raise RuntimeError(
                f"enrichment file {path} does not have the seed's layout for {table}: {error}"
            ) from error
        run_query_text(warehouse, f"DROP TABLE IF EXISTS {table}_raw")
        flags[ENRICHMENT_FLAGS[table]] = 1
    return flags


def _enrichment_file(enrichment_dir: str | None, file_name: str) -> str | None:
    if not enrichment_dir:
        return None
    path = f"{enrichment_dir.rstrip('/')}/{file_name}"
    if path.startswith("gs://"):
        import fsspec

        filesystem, _ = fsspec.core.url_to_fs(path)
        return path if filesystem.exists(path) else None
    return path if Path(path).is_file() else None


def _load_raw_ndjson(warehouse: _WarehouseLike, path: str, table: str) -> None:
    """Engine-specific: DuckDB reads the file itself; BigQuery runs a load job."""
    if warehouse.dialect == "duckdb":
        quoted = path.replace("'", "''")
        warehouse.execute(
            f"CREATE OR REPLACE TABLE {warehouse.table_ref(table)} AS "
            f"SELECT * FROM read_json('{quoted}', format = 'newline_delimited')"
        )
        return
    if warehouse.dialect == "bigquery":
        load_bigquery_ndjson(warehouse, path, table)
        return
    raise ValueError(f"no NDJSON loader for warehouse dialect {warehouse.dialect!r}")


def load_bigquery_ndjson(warehouse: Any, path: str, table: str) -> None:
    """A BigQuery load job (autodetected schema) of an NDJSON file, gs:// or local."""
    from google.cloud import bigquery

    destination = f"{warehouse.project}.{warehouse.dataset}.{table}"
    job_config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
        autodetect=True,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
    )
    with warehouse.bigquery.get_client() as client:
        if path.startswith("gs://"):
            job = client.load_table_from_uri(path, destination, job_config=job_config)
        else:
            with open(path, "rb") as source:
                job = client.load_table_from_file(source, destination, job_config=job_config)
        job.result()
