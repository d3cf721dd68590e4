"""`twotower recommend` builds query features the way the pair SQL builds a prefix."""

from __future__ import annotations

import numpy as np

from twotower_assets.pipelines.feature_spec import QUERY_FEATURES
from twotower_assets.recommend import history_column, query_features

# The `tracks` table columns of docs/architecture.md.
TRACKS_COLUMNS = {
    "track_uri", "track_name", "artist_uri", "artist_name", "album_uri", "album_name",
    "artist_genres", "duration_ms", "track_pop", "artist_pop", "artist_followers",
}  # fmt: skip


def _seed(index: int, artist: str) -> dict:
    return {
        "track_uri": f"spotify:track:{index}",
        "track_name": f"song {index}",
        "artist_uri": f"spotify:artist:{artist}",
        "artist_name": artist,
        "album_uri": f"spotify:album:{artist}",
        "album_name": f"album {artist}",
        "artist_genres": "NONE",
        "duration_ms": 1000 * index,
        "track_pop": index,
        "artist_pop": 10,
        "artist_followers": 0.0,
    }


def test_every_history_feature_reads_a_tracks_column() -> None:
    for feature in QUERY_FEATURES:
        if feature.shape == "var_len":
            assert history_column(feature) in TRACKS_COLUMNS, feature.name


def test_prefix_aggregates_cover_all_seeds_and_history_the_last_n() -> None:
    seeds = [_seed(i, "a" if i < 4 else "b") for i in range(1, 8)]
    features = query_features("Chill", seeds, history_length=5)
    assert set(features) == {f.name for f in QUERY_FEATURES}
    assert features["n_songs_pl"].tolist() == [7.0]
    assert features["num_artists_pl"].tolist() == [2.0]
    assert features["duration_ms_seed_pl"].tolist() == [float(sum(1000 * i for i in range(1, 8)))]
    assert features["track_uri_pl"].tolist() == [[f"spotify:track:{i}" for i in range(3, 8)]]
    assert features["track_pop_pl"].tolist() == [[3.0, 4.0, 5.0, 6.0, 7.0]]


def test_title_only_query_has_one_masked_history_slot() -> None:
    features = query_features("rock", [], history_length=5)
    assert features["track_uri_pl"].tolist() == [[""]]
    assert np.isnan(features["duration_ms_songs_pl"]).all()
    assert features["n_songs_pl"].tolist() == [0.0]
