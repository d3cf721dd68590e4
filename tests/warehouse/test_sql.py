"""The SQL files: the BigQuery form parses and reads only graph tables; the DuckDB form runs."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from twotower_assets import sql

PARAMS = {
    "history_length": 5,
    "valid_modulus": 100,
    "use_track_enrichment": 0,
    "use_artist_enrichment": 0,
}
EXPECTED_INPUTS = {
    "tracks": {"playlist_tracks", "track_enrichment", "artist_enrichment"},
    "training_pairs": {"playlist_tracks", "playlists", "tracks"},
    "holdout_playlists": {"playlists", "playlist_tracks"},
    "holdout_seeds": {"playlist_tracks", "holdout_playlists"},
    "holdout_hidden": {"playlist_tracks", "holdout_playlists", "holdout_seeds"},
}


def bigquery_ref(table: str) -> str:
    return f"`proj.ds.{table}`"


@pytest.mark.parametrize("name", sql.BUILT_TABLES)
def test_bigquery_form_parses_and_reads_only_graph_tables(name: str) -> None:
    assert sql.referenced_tables(name, PARAMS) == EXPECTED_INPUTS[name]
    assert EXPECTED_INPUTS[name] <= sql.GRAPH_TABLES
    rendered = sql.render(name, "bigquery", PARAMS, bigquery_ref)
    tree = sqlglot.parse_one(rendered, read="bigquery")
    assert isinstance(tree, exp.Select)
    tables = {(t.catalog, t.db, t.name) for t in tree.find_all(exp.Table)}
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    assert {t for t in tables if t[2] not in ctes} == {
        ("proj", "ds", table) for table in EXPECTED_INPUTS[name]
    }


@pytest.mark.parametrize("name", sql.BUILT_TABLES)
def test_duckdb_form_has_no_bigquery_only_syntax(name: str) -> None:
    rendered = re.sub(r"/\*.*?\*/", "", sql.render(name, "duckdb", PARAMS), flags=re.S)
    for construct in ("SAFE_OFFSET", "OFFSET(", "FLOAT64", "IFNULL(", "`"):
        assert construct not in rendered.upper(), (name, construct)


def test_missing_parameter_names_it() -> None:
    with pytest.raises(KeyError, match="history_length"):
        sql.render("training_pairs", "duckdb", {"valid_modulus": 100})


def test_code_version_is_the_sql_text() -> None:
    versions = {name: sql.sql_code_version(name) for name in sql.BUILT_TABLES}
    assert len(set(versions.values())) == len(versions)
    assert versions["tracks"] == sql.sql_code_version("tracks")


@pytest.mark.gcp
@pytest.mark.parametrize("name", sql.BUILT_TABLES)
def test_bigquery_dry_run(name: str) -> None:
    """Dry-runs the rendered SQL on BigQuery when credentials exist (skipped otherwise)."""
    import os

    google_auth = pytest.importorskip("google.auth")
    try:
        google_auth.default()
    except Exception as error:  # DefaultCredentialsError and transport errors alike
        pytest.skip(f"no Google Cloud credentials: {error}")
    project = os.environ.get("TWOTOWER_GCP_PROJECT")
    dataset = os.environ.get("TWOTOWER_BQ_DATASET")
    if not project or not dataset:
        pytest.skip("TWOTOWER_GCP_PROJECT / TWOTOWER_BQ_DATASET not set")
    from dagster_gcp import BigQueryResource

    from resources import BigQueryWarehouse

    warehouse = BigQueryWarehouse(
        bigquery=BigQueryResource(project=project), project=project, dataset=dataset
    )
    rendered = sql.render(name, "bigquery", PARAMS, warehouse.table_ref)
    assert warehouse.dry_run(rendered) >= 0
