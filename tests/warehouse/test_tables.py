"""The DuckDB form of every warehouse table, against an independent Python recount."""

from __future__ import annotations

from collections import Counter

import pytest
from warehouse_data import HISTORY_LENGTH, VALID_MODULUS, synthetic_tables
from warehouse_recount import recount_holdout, recount_pairs, recount_tracks

from resources import DatasetSettings, DuckDBWarehouse
from twotower_assets import warehouse as assets
from twotower_assets.pipelines.feature_spec import TRAINING_FEATURES
from twotower_assets.sql import BUILT_TABLES, build_table, load_enrichment


def build_all(warehouse: DuckDBWarehouse, dataset: DatasetSettings) -> dict[str, int]:
    params = {
        "history_length": dataset.history_length,
        "valid_modulus": dataset.valid_modulus,
        **load_enrichment(warehouse, dataset.enrichment_dir),
    }
    return {name: build_table(warehouse, name, params).rows for name in BUILT_TABLES}


def _rows(warehouse: DuckDBWarehouse, table: str) -> list[dict]:
    return warehouse.query(f"SELECT * FROM {table}").to_pylist()


@pytest.fixture
def built(synthetic_warehouse: DuckDBWarehouse, dataset: DatasetSettings):
    build_all(synthetic_warehouse, dataset)
    playlists, playlist_tracks = synthetic_tables(300, seed=5)
    return synthetic_warehouse, playlists, playlist_tracks.to_pylist()


def test_tracks_match_recount(built) -> None:
    warehouse, _, rows = built
    expected = recount_tracks(rows, VALID_MODULUS)
    found = {r["track_uri"]: r for r in warehouse.query("SELECT * FROM tracks").to_pylist()}
    assert found == expected
    # The minority spelling of track 7 lost; a track only in held-out playlists counts 0.
    assert found["spotify:track:t7"]["track_name"] == "song 7"
    assert found["spotify:track:t31"]["track_name"] == "NONE"
    held_out_only = {r["track_uri"] for r in rows} - {
        r["track_uri"] for r in rows if r["pid"] % VALID_MODULUS
    }
    assert all(found[uri]["track_pop"] == 0.0 for uri in held_out_only)


def test_training_pairs_match_recount(built) -> None:
    warehouse, playlists, rows = built
    catalogue = recount_tracks(rows, VALID_MODULUS)
    expected = recount_pairs(playlists, rows, catalogue, HISTORY_LENGTH, VALID_MODULUS)
    found = {
        (r.pop("pid"), r.pop("pos")): r
        for r in warehouse.query("SELECT * FROM training_pairs").to_pylist()
    }
    assert len(found) == len(rows) - len(playlists) == len(expected)
    mismatched = [key for key in expected if found.get(key) != expected[key]]
    assert not mismatched, (mismatched[:3], found.get(mismatched[0]), expected[mismatched[0]])
    # Short histories are kept: pos 1 has exactly one history track.
    assert Counter(len(v["pos_pl"]) for v in found.values())[1] == sum(
        1 for p in playlists.to_pylist() if p["num_tracks"] >= 2
    )


def test_training_pairs_columns_are_the_feature_spec(built) -> None:
    warehouse = built[0]
    columns = [name for name, _ in warehouse.table_schema("training_pairs")]
    spec = [feature.name for feature in TRAINING_FEATURES]
    assert columns[:2] == ["pid", "pos"] and columns[2] == "split"
    assert columns[3:] == spec[2:] + ["pos_pl"]


def test_holdout_tables_match_recount(built) -> None:
    warehouse, playlists, rows = built
    expected, seeds = recount_holdout(playlists, rows, VALID_MODULUS)
    found = {
        r.pop("pid"): r
        for r in warehouse.query("SELECT * FROM holdout_playlists").to_pylist()
        if r.pop("random_seeds") is not None
    }
    assert found == expected
    assert len({v["category"] for v in found.values()}) == 10  # every category is used
    found_seeds = {(r["pid"], r["pos"]) for r in _rows(warehouse, "holdout_seeds")}
    assert found_seeds == seeds
    hidden = {(r["pid"], r["pos"]) for r in _rows(warehouse, "holdout_hidden")}
    every = {(r["pid"], r["pos"]) for r in rows if r["pid"] % VALID_MODULUS == 0}
    assert hidden == every - seeds and not hidden & seeds
    # Random categories really are not the first positions.
    random_pids = [pid for pid, v in found.items() if v["category"].startswith("title_random")]
    assert random_pids
    assert any(
        {pos for pid, pos in seeds if pid == p} != set(range(found[p]["num_seeds"]))
        for p in random_pids
    )


def test_every_check_query_passes_on_correct_tables(built, dataset) -> None:
    warehouse = built[0]
    results = [
        assets.history_violations(warehouse, dataset.history_length),
        assets.pair_count_violations(warehouse),
        assets.split_violations(warehouse, dataset.valid_modulus),
        assets.candidate_violations(warehouse),
        assets.track_uniqueness_violations(warehouse),
        assets.popularity_violations(warehouse, dataset.valid_modulus),
        assets.holdout_violations(warehouse, dataset.valid_modulus),
        assets.seed_overlap_violations(warehouse),
        assets.holdout_playlist_violations(warehouse, dataset.valid_modulus),
        assets.seed_count_violations(warehouse),
        assets.null_string_violations(warehouse, "training_pairs", assets.TRAINING_STRING_COLUMNS),
        assets.null_string_violations(warehouse, "tracks", assets.TRACK_STRING_COLUMNS),
    ]
    for counts in results:
        assert assets._result(counts, ignore=("expected_pairs", "actual_pairs")).passed, counts


def test_leaked_history_fails_the_check_and_names_the_pair(built, dataset) -> None:
    warehouse = built[0]
    # Put the candidate itself at the end of one pair's history: the label leak.
    warehouse.execute(
        "UPDATE training_pairs SET pos_pl = list_append(pos_pl[2:], pos), "
        "track_uri_pl = list_append(track_uri_pl[2:], track_uri_can) "
        "WHERE pid = 61 AND pos = 4"
    )
    counts = assets.history_violations(warehouse, dataset.history_length)
    assert counts["wrong_positions"] == 1 and counts["wrong_tracks"] == 1
    assert counts["example"] == "61-4"
    assert not assets._result(counts).passed


def test_held_out_pid_in_training_split_fails(built, dataset) -> None:
    warehouse = built[0]
    warehouse.execute("UPDATE training_pairs SET split = 'train' WHERE pid = 70")
    counts = assets.split_violations(warehouse, dataset.valid_modulus)
    assert counts["held_out_in_train"] == 29  # playlist 70 has 30 tracks
    assert not assets._result(counts).passed


def test_popularity_from_held_out_playlists_fails(built, dataset) -> None:
    warehouse = built[0]
    warehouse.execute(
        "UPDATE tracks SET track_pop = track_pop + 1 WHERE track_uri = 'spotify:track:t3'"
    )
    counts = assets.popularity_violations(warehouse, dataset.valid_modulus)
    assert counts["track_pop_mismatches"] == 1 and counts["example"] == "spotify:track:t3"


def test_generated_sample_builds_and_reconciles(generated_warehouse: DuckDBWarehouse) -> None:
    dataset = DatasetSettings()  # defaults: history 5, modulus 100
    rows = build_all(generated_warehouse, dataset)
    lengths = (
        generated_warehouse.query("SELECT COUNT(*) AS n FROM playlist_tracks GROUP BY pid")
        .column("n")
        .to_pylist()
    )
    assert rows["training_pairs"] == sum(n - 1 for n in lengths)
    assert rows["tracks"] == generated_warehouse.scalar(
        "SELECT COUNT(DISTINCT track_uri) FROM playlist_tracks"
    )
    assert rows["holdout_playlists"] == 20
    assert rows["holdout_seeds"] + rows["holdout_hidden"] == generated_warehouse.scalar(
        "SELECT COUNT(*) FROM playlist_tracks WHERE pid % 100 = 0"
    )
    for counts in (
        assets.history_violations(generated_warehouse, 5),
        assets.pair_count_violations(generated_warehouse),
        assets.holdout_violations(generated_warehouse, 100),
        assets.popularity_violations(generated_warehouse, 100),
    ):
        assert assets._result(counts, ignore=("expected_pairs", "actual_pairs")).passed, counts


def test_pid_batched_pair_build_equals_the_single_query(built, dataset) -> None:
    warehouse = built[0]
    params = {"history_length": dataset.history_length, "valid_modulus": dataset.valid_modulus}
    query = "SELECT * FROM training_pairs ORDER BY pid, pos"
    single = warehouse.query(query).to_pylist()
    rebuilt = build_table(warehouse, "training_pairs", params, pid_batches=4)
    assert rebuilt.rows == len(single)
    assert warehouse.query(query).to_pylist() == single
    assert not warehouse.table_exists("training_pairs__building")
