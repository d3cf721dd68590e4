"""`twotower recommend`: embed a playlist (title + seed tracks) with the saved query tower and
print the nearest catalogue tracks from the exact index, seeds excluded.

The seed tracks' features come from the warehouse `tracks` table, built the way the pair SQL
builds a prefix (history = last N seeds, aggregates over all of them).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import click
import numpy as np

from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES, QUERY_FEATURES, Feature

# History features whose tracks column is not `<name without _pl>` or its candidate twin.
_HISTORY_COLUMN_EXCEPTIONS = {
    "duration_ms_songs_pl": "duration_ms",
    "artists_followers_pl": "artist_followers",
}
_CANDIDATE_COLUMNS = {f.name[: -len("_can")]: f.source_column for f in CANDIDATE_FEATURES}


def history_column(feature: Feature) -> str:
    """The `tracks` column a history feature lists (`artist_pop_pl` -> `artist_pop`)."""
    if feature.name in _HISTORY_COLUMN_EXCEPTIONS:
        return _HISTORY_COLUMN_EXCEPTIONS[feature.name]
    base = feature.name[: -len("_pl")]
    return _CANDIDATE_COLUMNS.get(base, base)


def query_features(
    title: str, seeds: list[dict[str, Any]], history_length: int
) -> dict[str, np.ndarray]:
    """One query row of raw features for the saved query tower (history padded '' / NaN)."""
    last = seeds[-history_length:] if seeds else []
    row: dict[str, Any] = {
        "name": title,
        "description_pl": "",
        "collaborative": "false",
        "n_songs_pl": float(len(seeds)),
        "num_artists_pl": float(len({s["artist_name"] for s in seeds})),
        "num_albums_pl": float(len({s["album_uri"] for s in seeds})),
        "duration_ms_seed_pl": float(sum(float(s["duration_ms"] or 0) for s in seeds)),
    }
    width = max(1, len(last))
    for feature in QUERY_FEATURES:
        if feature.shape != "var_len":
            continue
        column = history_column(feature)
        values = [s[column] for s in last]
        if feature.dtype == "string":
            padded = [str(v or "") for v in values] + [""] * (width - len(values))
            row[feature.name] = np.array([padded], dtype=object)
        else:
            floats = [float(v or 0.0) for v in values] + [np.nan] * (width - len(values))
            row[feature.name] = np.array([floats], dtype=np.float32)
    missing = [f.name for f in QUERY_FEATURES if f.name not in row]
    if missing:
        raise KeyError(f"recommend builds no value for query features {missing}")
    return {
        name: value
        if isinstance(value, np.ndarray)
        else np.array([value], dtype=object if isinstance(value, str) else np.float32)
        for name, value in row.items()
    }


@dataclass(frozen=True)
class Recommendation:
    rank: int
    track_uri: str
    track_name: str
    artist_name: str
    score: float


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _track_rows(warehouse: Any, uris: list[str]) -> dict[str, dict[str, Any]]:
    if not uris:
        return {}
    table = warehouse.query(
        f"SELECT * FROM {warehouse.table_ref('tracks')} "
        f"WHERE track_uri IN ({', '.join(_quote(u) for u in uris)})"
    )
    return {row["track_uri"]: row for row in table.to_pylist()}


def recommend_tracks(
    title: str, seed_uris: list[str], k: int, artifacts: Any, warehouse: Any
) -> list[Recommendation]:
    """Top-`k` catalogue tracks for a title and seed tracks (seeds excluded)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    from twotower_assets.pipelines.embeddings import EMBEDDINGS_FOLDER, CandidateIndex
    from twotower_assets.pipelines.trainer import MODEL_FOLDER

    found = _track_rows(warehouse, seed_uris)
    unknown = [uri for uri in seed_uris if uri not in found]
    if unknown:
        raise click.UsageError(f"tracks not in the warehouse `tracks` table: {unknown}")
    vocabulary = json.loads(artifacts.read_text("vocabulary", "vocabulary.json"))
    features = query_features(title, [found[u] for u in seed_uris], vocabulary["history_length"])
    tower = tf.saved_model.load(artifacts.path(MODEL_FOLDER, "query_tower"))
    signature = tower.signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    query = signature(**{n: tf.constant(features[n], spec.dtype) for n, spec in inputs.items()})
    index = CandidateIndex.load(artifacts.path(EMBEDDINGS_FOLDER))
    scores, uris = index.search(query["embedding"].numpy(), k + len(seed_uris))
    excluded = set(seed_uris)
    picked = [
        (u, float(s)) for u, s in zip(uris[0], scores[0], strict=True) if u and u not in excluded
    ]
    picked = picked[:k]
    names = _track_rows(warehouse, [u for u, _ in picked])
    return [
        Recommendation(
            rank=rank,
            track_uri=uri,
            track_name=str(names.get(uri, {}).get("track_name", "")),
            artist_name=str(names.get(uri, {}).get("artist_name", "")),
            score=score,
        )
        for rank, (uri, score) in enumerate(picked, start=1)
    ]


@click.command()
@click.option("--title", default="", help="Playlist title, e.g. 'chill'.")
@click.option("--track", "tracks", multiple=True, help="Seed track URI (repeatable).")
@click.option("-k", "k", default=20, show_default=True, help="How many tracks to print.")
def recommend(title: str, tracks: tuple[str, ...], k: int) -> None:
    """Recommend tracks for a playlist title and seed tracks with the trained two-tower model."""
    from resources import build_resources

    resources = build_resources()
    results = recommend_tracks(
        title, list(tracks), k, resources["artifacts"], resources["warehouse"]
    )
    for item in results:
        click.echo(
            f"{item.rank:>3}. {item.track_name} - {item.artist_name}  "
            f"({item.track_uri}, {item.score:.3f})"
        )
