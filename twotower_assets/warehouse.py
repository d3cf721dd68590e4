"""Assets of the 'warehouse' group: the catalogue, the pairs and the held-out playlists.

Each asset renders its `sql/<table>.sql` for the warehouse in use (DuckDB or BigQuery) and
replaces the table (`twotower_assets.sql.build_table`). The checks below recount from
`playlist_tracks` independently; their queries are plain functions (`*_violations`) usable
without Dagster. Query text is BigQuery dialect, transpiled like the table SQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import dagster as dg

from resources.dataset import DatasetSettings
from resources.warehouse import Warehouse
from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES, TRAINING_FEATURES
from twotower_assets.sql import (
    BuiltTable,
    build_table,
    load_enrichment,
    pair_batches,
    render_text,
    sql_code_version,
)

TRAINING_STRING_COLUMNS = tuple(
    f.name for f in TRAINING_FEATURES if f.dtype == "string" and f.shape == "scalar"
) + ("split",)
TRAINING_LIST_COLUMNS = tuple(f.name for f in TRAINING_FEATURES if f.shape == "var_len")
TRACK_STRING_COLUMNS = tuple(f.source_column for f in CANDIDATE_FEATURES if f.dtype == "string")


def _params(dataset: DatasetSettings) -> dict[str, int]:
    return {"history_length": dataset.history_length, "valid_modulus": dataset.valid_modulus}


def _row(warehouse: Warehouse, text: str) -> dict[str, Any]:
    """The single row of a BigQuery-dialect query, as a dict."""
    result = warehouse.query(render_text(text, warehouse.dialect, warehouse.table_ref))
    rows = result.to_pylist()
    if len(rows) != 1:
        raise RuntimeError(f"check query returned {len(rows)} rows, expected 1:\n{text}")
    # DuckDB sums are HUGEINT (Decimal in Python); metadata wants plain ints.
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in rows[0].items()}


def _materialize_result(
    warehouse: Warehouse, built: BuiltTable, **extra: Any
) -> dg.MaterializeResult:
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name=name, type=str(kind)) for name, kind in built.columns]
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": built.rows,
            "dagster/column_schema": schema,
            "dagster/table_name": warehouse.table_ref(built.table).strip("`"),
            "seconds": round(built.seconds, 3),
            "warehouse": warehouse.describe(),
            **extra,
        }
    )


# ---------------------------------------------------------------------------------------------
# Assets


@dg.asset(
    deps=["playlists"],
    pool="warehouse",
    code_version=sql_code_version("tracks"),
    kinds={"sql"},
    description="Candidate catalogue: one row per track_uri, popularity over training playlists.",
)
def tracks(warehouse: Warehouse, dataset: DatasetSettings) -> dg.MaterializeResult:
    flags = load_enrichment(warehouse, dataset.enrichment_dir)
    built = build_table(warehouse, "tracks", {**_params(dataset), **flags})
    return _materialize_result(warehouse, built, **flags)


@dg.asset(
    deps=["playlists", tracks],
    pool="warehouse",
    code_version=sql_code_version("training_pairs"),
    kinds={"sql"},
    description="(playlist before pos) -> (track at pos) pairs, pos >= 1, last-N history arrays.",
)
def training_pairs(warehouse: Warehouse, dataset: DatasetSettings) -> dg.MaterializeResult:
    batches = pair_batches(warehouse)
    built = build_table(warehouse, "training_pairs", _params(dataset), pid_batches=batches)
    split = _row(
        warehouse,
        "SELECT COUNTIF(split = 'train') AS train, COUNTIF(split = 'valid') AS valid "
        "FROM training_pairs",
    )
    return _materialize_result(
        warehouse,
        built,
        train_pairs=int(split["train"] or 0),
        valid_pairs=int(split["valid"] or 0),
        history_length=dataset.history_length,
        valid_modulus=dataset.valid_modulus,
        pid_batches=batches,
    )


@dg.asset(
    deps=["playlists"],
    pool="warehouse",
    code_version=sql_code_version("holdout_playlists"),
    kinds={"sql"},
    description="Held-out playlists with their RecSys Challenge 2018 category.",
)
def holdout_playlists(warehouse: Warehouse, dataset: DatasetSettings) -> dg.MaterializeResult:
    built = build_table(warehouse, "holdout_playlists", _params(dataset))
    by_category = warehouse.query(
        render_text(
            "SELECT category, COUNT(*) AS n FROM holdout_playlists GROUP BY category "
            "ORDER BY category",
            warehouse.dialect,
            warehouse.table_ref,
        )
    ).to_pylist()
    return _materialize_result(
        warehouse,
        built,
        playlists_per_category=dg.MetadataValue.json({r["category"]: r["n"] for r in by_category}),
    )


@dg.asset(
    deps=["playlists", holdout_playlists],
    pool="warehouse",
    code_version=sql_code_version("holdout_seeds"),
    kinds={"sql"},
    description="The given (seed) tracks of each held-out playlist.",
)
def holdout_seeds(warehouse: Warehouse, dataset: DatasetSettings) -> dg.MaterializeResult:
    return _materialize_result(warehouse, build_table(warehouse, "holdout_seeds", _params(dataset)))


@dg.asset(
    deps=["playlists", holdout_playlists, holdout_seeds],
    pool="warehouse",
    code_version=sql_code_version("holdout_hidden"),
    kinds={"sql"},
    description="The hidden tracks of each held-out playlist (what a recommender must find).",
)
def holdout_hidden(warehouse: Warehouse, dataset: DatasetSettings) -> dg.MaterializeResult:
    return _materialize_result(
        warehouse, build_table(warehouse, "holdout_hidden", _params(dataset))
    )


# ---------------------------------------------------------------------------------------------
# Check logic: each returns the violation counts (all zero when the table is right) and, when
# something is wrong, an example culprit. Recounts read playlist_tracks, not the checked table's
# own inputs, so a wrong query cannot confirm itself.


def history_violations(warehouse: Warehouse, history_length: int) -> dict[str, Any]:
    """Pairs whose history is not exactly the last min(pos, N) positions before pos."""
    lengths = " OR ".join(
        f"ARRAY_LENGTH(p.{name}) != ARRAY_LENGTH(p.pos_pl)" for name in TRAINING_LIST_COLUMNS
    )
    return _row(
        warehouse,
        f"""
        SELECT
          COUNTIF(
            p.pos_pl IS NULL
            OR ARRAY_LENGTH(p.pos_pl) != LEAST(p.pos, {history_length})
            OR p.pos_pl[OFFSET(0)] != p.pos - ARRAY_LENGTH(p.pos_pl)
            OR p.pos_pl[OFFSET(ARRAY_LENGTH(p.pos_pl) - 1)] != p.pos - 1
          ) AS wrong_positions,
          COUNTIF({lengths}) AS ragged_arrays,
          COUNTIF(
            newest.track_uri IS NULL
            OR p.track_uri_pl[OFFSET(ARRAY_LENGTH(p.track_uri_pl) - 1)] != newest.track_uri
            OR oldest.track_uri IS NULL
            OR p.track_uri_pl[OFFSET(0)] != oldest.track_uri
          ) AS wrong_tracks,
          COUNTIF(candidate.track_uri IS NULL OR candidate.track_uri != p.track_uri_can)
            AS wrong_candidates,
          MIN(IF(
            ARRAY_LENGTH(p.pos_pl) != LEAST(p.pos, {history_length})
            OR p.pos_pl[OFFSET(ARRAY_LENGTH(p.pos_pl) - 1)] != p.pos - 1
            OR p.track_uri_pl[OFFSET(ARRAY_LENGTH(p.track_uri_pl) - 1)] != newest.track_uri,
            CONCAT(CAST(p.pid AS STRING), '-', CAST(p.pos AS STRING)), NULL
          )) AS example
        FROM training_pairs AS p
        LEFT JOIN playlist_tracks AS newest
          ON newest.pid = p.pid AND newest.pos = p.pos - 1
        LEFT JOIN playlist_tracks AS oldest
          ON oldest.pid = p.pid AND oldest.pos = p.pos - ARRAY_LENGTH(p.pos_pl)
        LEFT JOIN playlist_tracks AS candidate
          ON candidate.pid = p.pid AND candidate.pos = p.pos
        """,
    )


def pair_count_violations(warehouse: Warehouse) -> dict[str, Any]:
    """Playlists whose pair count is not (their track count in playlist_tracks) - 1."""
    return _row(
        warehouse,
        """
        WITH expected AS (
          SELECT pid, COUNT(*) - 1 AS pairs FROM playlist_tracks GROUP BY pid
        ),
        actual AS (
          SELECT pid, COUNT(*) AS pairs FROM training_pairs GROUP BY pid
        )
        SELECT
          COUNTIF(IFNULL(e.pairs, 0) != IFNULL(a.pairs, 0)) AS mismatched_playlists,
          MIN(IF(IFNULL(e.pairs, 0) != IFNULL(a.pairs, 0), pid, NULL)) AS example_pid,
          SUM(IFNULL(e.pairs, 0)) AS expected_pairs,
          SUM(IFNULL(a.pairs, 0)) AS actual_pairs
        FROM expected AS e
        FULL OUTER JOIN actual AS a USING (pid)
        """,
    )


def split_violations(warehouse: Warehouse, valid_modulus: int) -> dict[str, Any]:
    """Held-out pids labelled 'train' (a leak) and training pids labelled 'valid'."""
    return _row(
        warehouse,
        f"""
        SELECT
          COUNTIF(split = 'train' AND MOD(pid, {valid_modulus}) = 0) AS held_out_in_train,
          COUNTIF(split = 'valid' AND MOD(pid, {valid_modulus}) != 0) AS training_in_valid,
          COUNTIF(split IS NULL OR split NOT IN ('train', 'valid')) AS unknown_split
        FROM training_pairs
        """,
    )


def candidate_violations(warehouse: Warehouse) -> dict[str, Any]:
    """Pairs whose candidate is missing from the catalogue."""
    return _row(
        warehouse,
        """
        SELECT
          COUNTIF(t.track_uri IS NULL) AS candidates_not_in_tracks,
          MIN(IF(t.track_uri IS NULL, p.track_uri_can, NULL)) AS example
        FROM training_pairs AS p
        LEFT JOIN tracks AS t ON t.track_uri = p.track_uri_can
        """,
    )


def null_string_violations(
    warehouse: Warehouse, table: str, columns: tuple[str, ...]
) -> dict[str, Any]:
    """NULL counts per string column of `table` (empty strings were replaced by 'NONE')."""
    counts = ", ".join(f"COUNTIF({column} IS NULL) AS {column}" for column in columns)
    return _row(warehouse, f"SELECT {counts} FROM {table}")


def track_uniqueness_violations(warehouse: Warehouse) -> dict[str, Any]:
    """Duplicate URIs in tracks, and URIs of playlist_tracks missing from it."""
    return _row(
        warehouse,
        """
        SELECT
          (SELECT COUNT(*) - COUNT(DISTINCT track_uri) FROM tracks) AS duplicate_uris,
          (SELECT COUNT(DISTINCT track_uri) FROM playlist_tracks)
            - (SELECT COUNT(DISTINCT track_uri) FROM tracks) AS missing_uris
        """,
    )


def popularity_violations(warehouse: Warehouse, valid_modulus: int) -> dict[str, Any]:
    """Tracks whose track_pop / artist_pop differ from a recount over training playlists."""
    return _row(
        warehouse,
        f"""
        WITH train AS (
          SELECT pid, track_uri, artist_uri FROM playlist_tracks
          WHERE MOD(pid, {valid_modulus}) != 0
        ),
        track_recount AS (
          SELECT track_uri, COUNT(DISTINCT pid) AS n FROM train GROUP BY track_uri
        ),
        artist_recount AS (
          SELECT artist_uri, COUNT(DISTINCT pid) AS n FROM train GROUP BY artist_uri
        )
        SELECT
          COUNTIF(t.track_pop != IFNULL(tr.n, 0)) AS track_pop_mismatches,
          COUNTIF(t.artist_pop != IFNULL(ar.n, 0)) AS artist_pop_mismatches,
          MIN(IF(t.track_pop != IFNULL(tr.n, 0), t.track_uri, NULL)) AS example
        FROM tracks AS t
        LEFT JOIN track_recount AS tr ON tr.track_uri = t.track_uri
        LEFT JOIN artist_recount AS ar ON ar.artist_uri = t.artist_uri
        """,
    )


def holdout_violations(warehouse: Warehouse, valid_modulus: int) -> dict[str, Any]:
    """Held-out playlists that are not exactly the valid-split playlists, or are cut wrongly."""
    return _row(
        warehouse,
        f"""
        WITH lengths AS (
          SELECT pid, COUNT(*) AS n FROM playlist_tracks
          WHERE MOD(pid, {valid_modulus}) = 0 GROUP BY pid
        ),
        seeds AS (SELECT pid, COUNT(*) AS n FROM holdout_seeds GROUP BY pid),
        hidden AS (SELECT pid, COUNT(*) AS n FROM holdout_hidden GROUP BY pid)
        SELECT
          COUNTIF(h.pid IS NULL) AS valid_playlists_missing,
          COUNTIF(l.pid IS NULL) AS not_held_out_pids,
          COUNTIF(IFNULL(s.n, 0) + IFNULL(d.n, 0) != IFNULL(l.n, 0)) AS seeds_plus_hidden_wrong,
          COUNTIF(IFNULL(s.n, 0) != IFNULL(h.num_seeds, -1)) AS seed_count_wrong,
          COUNTIF(IFNULL(d.n, 0) < 1 OR IFNULL(d.n, 0) != IFNULL(h.num_hidden, -1))
            AS hidden_count_wrong,
          MIN(IF(IFNULL(s.n, 0) + IFNULL(d.n, 0) != IFNULL(l.n, 0), pid, NULL)) AS example_pid
        FROM lengths AS l
        FULL OUTER JOIN holdout_playlists AS h USING (pid)
        LEFT JOIN seeds AS s USING (pid)
        LEFT JOIN hidden AS d USING (pid)
        """,
    )


def seed_overlap_violations(warehouse: Warehouse) -> dict[str, Any]:
    """Positions that are both seed and hidden, or appear twice."""
    return _row(
        warehouse,
        """
        SELECT COUNT(*) - COUNT(DISTINCT CONCAT(CAST(pid AS STRING), '-', CAST(pos AS STRING)))
          AS duplicated_positions
        FROM (
          SELECT pid, pos FROM holdout_seeds
          UNION ALL
          SELECT pid, pos FROM holdout_hidden
        )
        """,
    )


def _result(counts: dict[str, Any], ignore: tuple[str, ...] = ()) -> dg.AssetCheckResult:
    """Passed when every count (all keys except examples and `ignore`) is zero."""
    failing = {
        key: value
        for key, value in counts.items()
        if key not in ignore and not key.startswith("example") and value
    }
    metadata = {key: value for key, value in counts.items() if value is not None}
    description = (
        "all zero"
        if not failing
        else "violations: " + ", ".join(f"{k}={v}" for k, v in failing.items())
    )
    return dg.AssetCheckResult(passed=not failing, metadata=metadata, description=description)


# ---------------------------------------------------------------------------------------------
# Asset checks (blocking where a failure would make downstream assets wrong)


@dg.asset_check(
    asset=training_pairs,
    blocking=True,
    description="History = last N positions before pos, from playlist_tracks.",
)
def history_before_candidate(warehouse: Warehouse, dataset: DatasetSettings) -> dg.AssetCheckResult:
    return _result(history_violations(warehouse, dataset.history_length))


@dg.asset_check(
    asset=training_pairs, blocking=True, description="Pairs per playlist == its length - 1."
)
def pairs_per_playlist(warehouse: Warehouse) -> dg.AssetCheckResult:
    return _result(pair_count_violations(warehouse), ignore=("expected_pairs", "actual_pairs"))


@dg.asset_check(
    asset=training_pairs, blocking=True, description="No held-out pid in the training split."
)
def split_by_pid(warehouse: Warehouse, dataset: DatasetSettings) -> dg.AssetCheckResult:
    return _result(split_violations(warehouse, dataset.valid_modulus))


@dg.asset_check(asset=training_pairs, blocking=True, description="Every candidate is in tracks.")
def candidates_in_tracks(warehouse: Warehouse) -> dg.AssetCheckResult:
    return _result(candidate_violations(warehouse))


@dg.asset_check(
    asset=training_pairs, blocking=True, description="No NULL in string feature columns."
)
def training_pairs_strings_not_null(warehouse: Warehouse) -> dg.AssetCheckResult:
    return _result(null_string_violations(warehouse, "training_pairs", TRAINING_STRING_COLUMNS))


@dg.asset_check(asset=tracks, blocking=True, description="track_uri unique and complete.")
def track_uri_unique(warehouse: Warehouse) -> dg.AssetCheckResult:
    return _result(track_uniqueness_violations(warehouse))


@dg.asset_check(asset=tracks, blocking=True, description="No NULL in string columns.")
def tracks_strings_not_null(warehouse: Warehouse) -> dg.AssetCheckResult:
    return _result(null_string_violations(warehouse, "tracks", TRACK_STRING_COLUMNS))


@dg.asset_check(
    asset=tracks,
    blocking=True,
    description="Derived popularity counts training playlists only (skipped with enrichment).",
)
def popularity_from_training_only(
    warehouse: Warehouse, dataset: DatasetSettings
) -> dg.AssetCheckResult:
    flags = {
        "track": warehouse.row_count("track_enrichment") > 0,
        "artist": warehouse.row_count("artist_enrichment") > 0,
    }
    counts = popularity_violations(warehouse, dataset.valid_modulus)
    ignore = tuple(
        key
        for key, enriched in (
            ("track_pop_mismatches", flags["track"]),
            ("artist_pop_mismatches", flags["artist"]),
        )
        if enriched
    )
    return _result(counts, ignore=ignore)


@dg.asset_check(
    asset=holdout_hidden,
    blocking=True,
    description="Held-out playlists = valid split; seeds + hidden = playlist; >= 1 hidden.",
)
def seeds_plus_hidden_is_playlist(
    warehouse: Warehouse, dataset: DatasetSettings
) -> dg.AssetCheckResult:
    return _result(
        {
            **holdout_violations(warehouse, dataset.valid_modulus),
            **seed_overlap_violations(warehouse),
        }
    )


def holdout_playlist_violations(warehouse: Warehouse, valid_modulus: int) -> dict[str, Any]:
    """Held-out rows with a training pid, no hidden track, or counts that miss the length."""
    return _row(
        warehouse,
        f"""
        WITH lengths AS (SELECT pid, COUNT(*) AS n FROM playlist_tracks GROUP BY pid)
        SELECT
          COUNTIF(MOD(h.pid, {valid_modulus}) != 0) AS training_pids,
          COUNTIF(h.num_hidden < 1) AS without_hidden_tracks,
          COUNTIF(h.num_seeds + h.num_hidden != IFNULL(l.n, -1)) AS counts_not_length,
          COUNTIF(NOT h.title_given AND h.name != '') AS hidden_title_shown,
          MIN(IF(h.num_seeds + h.num_hidden != IFNULL(l.n, -1), h.pid, NULL)) AS example_pid
        FROM holdout_playlists AS h
        LEFT JOIN lengths AS l ON l.pid = h.pid
        """,
    )


def seed_count_violations(warehouse: Warehouse) -> dict[str, Any]:
    """Held-out playlists whose seed rows differ from num_seeds."""
    return _row(
        warehouse,
        """
        WITH seeds AS (SELECT pid, COUNT(*) AS n FROM holdout_seeds GROUP BY pid)
        SELECT
          COUNTIF(IFNULL(s.n, 0) != IFNULL(h.num_seeds, -1)) AS seed_count_wrong,
          MIN(IF(IFNULL(s.n, 0) != IFNULL(h.num_seeds, -1), pid, NULL)) AS example_pid
        FROM holdout_playlists AS h
        FULL OUTER JOIN seeds AS s USING (pid)
        """,
    )


@dg.asset_check(
    asset=holdout_playlists,
    blocking=True,
    description="Only held-out pids; >= 1 hidden track; seeds + hidden = length.",
)
def holdout_playlists_consistent(
    warehouse: Warehouse, dataset: DatasetSettings
) -> dg.AssetCheckResult:
    return _result(holdout_playlist_violations(warehouse, dataset.valid_modulus))


@dg.asset_check(asset=holdout_seeds, blocking=True, description="Seed rows == num_seeds per pid.")
def seed_counts_match_category(warehouse: Warehouse) -> dg.AssetCheckResult:
    return _result(seed_count_violations(warehouse))
