"""The warehouse assets materialized in process with their checks, and a blocking failure."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pyarrow as pa
from warehouse_data import TRACK_SCHEMA, track_attributes

from resources import DatasetSettings, DuckDBWarehouse
from twotower_assets import warehouse as assets
from twotower_assets.sql import sql_code_version

ASSETS = [
    assets.tracks,
    assets.training_pairs,
    assets.holdout_playlists,
    assets.holdout_seeds,
    assets.holdout_hidden,
]
CHECKS = dg.load_asset_checks_from_modules([assets])


def materialize(warehouse: DuckDBWarehouse, dataset: DatasetSettings) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ASSETS, *CHECKS],
        resources={"warehouse": warehouse, "dataset": dataset},
        raise_on_error=False,
    )


def test_assets_materialize_with_metadata_and_passing_checks(
    synthetic_warehouse: DuckDBWarehouse, dataset: DatasetSettings
) -> None:
    result = materialize(synthetic_warehouse, dataset)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(CHECKS) >= 10
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    for asset in ASSETS:
        name = asset.key.path[-1]
        metadata = result.asset_materializations_for_node(name)[0].metadata
        assert metadata["dagster/row_count"].value == synthetic_warehouse.row_count(name)
        assert metadata["dagster/table_name"].value == name
        columns = [c.name for c in metadata["dagster/column_schema"].value.columns]
        assert columns == [c for c, _ in synthetic_warehouse.table_schema(name)]
        assert asset.code_versions_by_key[asset.key] == sql_code_version(name)
    pairs = result.asset_materializations_for_node("training_pairs")[0].metadata
    assert (
        pairs["train_pairs"].value + pairs["valid_pairs"].value == pairs["dagster/row_count"].value
    )


def test_assets_declare_true_lineage_and_the_warehouse_pool() -> None:
    deps = {a.key.path[-1]: {k.path[-1] for k in a.asset_deps[a.key]} for a in ASSETS}
    assert deps == {
        "tracks": {"playlists"},
        "training_pairs": {"playlists", "tracks"},
        "holdout_playlists": {"playlists"},
        "holdout_seeds": {"playlists", "holdout_playlists"},
        "holdout_hidden": {"playlists", "holdout_playlists", "holdout_seeds"},
    }
    assert all(a.op.pool == "warehouse" for a in ASSETS)


def test_orphan_tracks_fail_the_blocking_pair_check_and_stop_downstream(
    synthetic_warehouse: DuckDBWarehouse, dataset: DatasetSettings
) -> None:
    # Tracks of a pid that has no row in `playlists`: pairs cannot be built for it.
    orphan = [
        {"slice": "9-9", "pid": 4242, "pos": pos, **track_attributes(pos)} for pos in range(4)
    ]
    synthetic_warehouse.replace_rows(
        "playlist_tracks", "slice", "9-9", pa.Table.from_pylist(orphan, schema=TRACK_SCHEMA)
    )
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        resources={"warehouse": synthetic_warehouse, "dataset": dataset},
        selection=["tracks", "training_pairs"],
        raise_on_error=False,
    )
    assert not result.success
    failed = {e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed}
    assert "pairs_per_playlist" in failed
    assert failed["pairs_per_playlist"].metadata["example_pid"].value == 4242
    assert failed["pairs_per_playlist"].metadata["mismatched_playlists"].value == 1


def test_enrichment_files_are_joined(tmp_path: Path, synthetic_warehouse: DuckDBWarehouse) -> None:
    enrichment = tmp_path / "enrichment"
    enrichment.mkdir()
    (enrichment / "unique_track_features.json").write_text(
        "\n".join(
            json.dumps({"track_uri": f"spotify:track:t{t}", "track_pop": 50 + t, "danceability": 1})
            for t in (1, 2)
        )
    )
    (enrichment / "unique_artists_features.json").write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "artist_uri": "spotify:artist:a1",
                        "artist_name": "x",
                        "artist_pop": 70,
                        "artist_genres": ["pop", "dance pop"],
                        "artist_followers": 1234,
                    }
                ),
                json.dumps(
                    {
                        "artist_uri": "spotify:artist:a2",
                        "artist_name": "y",
                        "artist_pop": 10,
                        "artist_genres": [],
                        "artist_followers": 5,
                    }
                ),
            ]
        )
    )
    dataset = DatasetSettings(history_length=3, valid_modulus=10, enrichment_dir=str(enrichment))
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        resources={"warehouse": synthetic_warehouse, "dataset": dataset},
        selection=["tracks"],
    )
    assert result.success
    metadata = result.asset_materializations_for_node("tracks")[0].metadata
    assert metadata["use_track_enrichment"].value == 1
    rows = {
        r["track_uri"]: r
        for r in synthetic_warehouse.query(
            "SELECT * FROM tracks WHERE track_uri IN "
            "('spotify:track:t1', 'spotify:track:t2', 'spotify:track:t3')"
        ).to_pylist()
    }
    assert rows["spotify:track:t1"]["track_pop"] == 51.0  # from the file, not a count
    assert rows["spotify:track:t3"]["track_pop"] == 0.0  # absent from the file: 0, as the seed
    assert rows["spotify:track:t1"]["artist_genres"] == "pop, dance pop"  # artist a1
    assert rows["spotify:track:t1"]["artist_followers"] == 1234.0
    assert rows["spotify:track:t2"]["artist_genres"] == "NONE"  # empty genre list
    assert rows["spotify:track:t3"]["artist_pop"] == 0.0
