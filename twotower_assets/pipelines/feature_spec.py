"""The one list of TFRecord features: training examples and candidate examples.

Every feature has a name, a dtype, a shape and a one-line meaning. The Beam writer, the tf.data
reader and the towers all derive from these lists, so they cannot disagree. No Dagster and no
TensorFlow at import time (the parse spec imports TensorFlow lazily).

Shapes: "scalar" is exactly one value; "var_len" is a list of 0..history_length values (the
history before the candidate, oldest first). Candidate features carry the same names in training
and candidate examples, so the candidate tower consumes both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DType = Literal["string", "float", "int"]
Shape = Literal["scalar", "var_len"]
Role = Literal["query", "candidate", "id"]


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: DType
    shape: Shape
    role: Role
    meaning: str
    column: str = ""  # source column when it differs from `name` (candidate catalogue)

    @property
    def source_column(self) -> str:
        return self.column or self.name


def _s(name: str, role: Role, meaning: str, column: str = "") -> Feature:
    return Feature(name, "string", "scalar", role, meaning, column)


def _f(name: str, role: Role, meaning: str, column: str = "") -> Feature:
    return Feature(name, "float", "scalar", role, meaning, column)


def _sl(name: str, meaning: str) -> Feature:
    return Feature(name, "string", "var_len", "query", meaning)


def _fl(name: str, meaning: str) -> Feature:
    return Feature(name, "float", "var_len", "query", meaning)


ID_FEATURES: tuple[Feature, ...] = (
    Feature("pid", "int", "scalar", "id", "playlist id (not a model input)"),
    Feature("pos", "int", "scalar", "id", "position of the candidate track (not a model input)"),
)

QUERY_FEATURES: tuple[Feature, ...] = (
    _s("name", "query", "playlist title as typed by the user"),
    _s("description_pl", "query", "playlist description, '' when absent"),
    _s("collaborative", "query", "'true' or 'false'"),
    _f("n_songs_pl", "query", "tracks before the candidate (whole prefix)"),
    _f("num_artists_pl", "query", "distinct artist names in the whole prefix"),
    _f("num_albums_pl", "query", "distinct album URIs in the whole prefix"),
    _f("duration_ms_seed_pl", "query", "summed duration of the whole prefix, ms"),
    _sl("track_uri_pl", "URIs of the last N tracks before the candidate, oldest first"),
    _sl("track_name_pl", "names of the last N tracks"),
    _sl("artist_uri_pl", "artist URIs of the last N tracks"),
    _sl("artist_name_pl", "artist names of the last N tracks"),
    _sl("album_uri_pl", "album URIs of the last N tracks"),
    _sl("album_name_pl", "album names of the last N tracks"),
    _sl("artist_genres_pl", "artist genre string of the last N tracks ('NONE' without enrichment)"),
    _fl("duration_ms_songs_pl", "durations of the last N tracks, ms"),
    _fl("track_pop_pl", "training playlists containing each of the last N tracks"),
    _fl("artist_pop_pl", "training playlists containing the artist of each of the last N tracks"),
    _fl("artists_followers_pl", "artist followers of the last N tracks (0 without enrichment)"),
)

CANDIDATE_FEATURES: tuple[Feature, ...] = (
    _s("track_uri_can", "candidate", "candidate track URI", "track_uri"),
    _s("track_name_can", "candidate", "candidate track name", "track_name"),
    _s("artist_uri_can", "candidate", "candidate artist URI", "artist_uri"),
    _s("artist_name_can", "candidate", "candidate artist name", "artist_name"),
    _s("album_uri_can", "candidate", "candidate album URI", "album_uri"),
    _s("album_name_can", "candidate", "candidate album name", "album_name"),
    _s(
        "artist_genres_can",
        "candidate",
        "artist genre string ('NONE' without enrichment)",
        "artist_genres",
    ),
    _f("duration_ms_can", "candidate", "candidate duration, ms", "duration_ms"),
    _f("track_pop_can", "candidate", "training playlists containing the track", "track_pop"),
    _f("artist_pop_can", "candidate", "training playlists containing the artist", "artist_pop"),
    _f(
        "artist_followers_can",
        "candidate",
        "artist followers (0 without enrichment)",
        "artist_followers",
    ),
)

# A training example: ids, the query side, and the candidate (the track at `pos`).
# In `training_pairs` every column is named exactly like its feature (candidate columns included).
TRAINING_FEATURES: tuple[Feature, ...] = ID_FEATURES + QUERY_FEATURES + CANDIDATE_FEATURES


def by_name(features: tuple[Feature, ...]) -> dict[str, Feature]:
    return {feature.name: feature for feature in features}


def parse_spec(features: tuple[Feature, ...]) -> dict[str, Any]:
    """The `tf.io.parse_example` spec for `features` (scalars fixed, lists ragged)."""
    import tensorflow as tf

    dtypes = {"string": tf.string, "float": tf.float32, "int": tf.int64}
    spec: dict[str, Any] = {}
    for feature in features:
        dtype = dtypes[feature.dtype]
        if feature.shape == "scalar":
            spec[feature.name] = tf.io.FixedLenFeature([], dtype)
        else:
            spec[feature.name] = tf.io.RaggedFeature(dtype)
    return spec
