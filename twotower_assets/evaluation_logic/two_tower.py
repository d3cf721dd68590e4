"""The two-tower model at evaluation time: query features, the saved query tower, exact top-k.

Query features follow `training_pairs` (pipelines/feature_spec.py): a held-out playlist's seeds
play the role of the prefix (history = last N seeds, aggregates over all seeds). TensorFlow and
FAISS are imported only when a tower is loaded or a search runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from twotower_assets.evaluation_logic.baselines import take_excluding
from twotower_assets.evaluation_logic.ragged import Ragged
from twotower_assets.pipelines.feature_spec import QUERY_FEATURES, by_name

# A batch of query features: scalars as 1-D arrays, histories as Ragged rows.
QueryFeatures = dict[str, np.ndarray | Ragged]
QueryEncoder = Callable[[QueryFeatures], np.ndarray]

# Tracks-table column behind each history feature (`<feature>` = array of that column).
HISTORY_COLUMNS: dict[str, str] = {
    "track_uri_pl": "track_uri",
    "track_name_pl": "track_name",
    "artist_uri_pl": "artist_uri",
    "artist_name_pl": "artist_name",
    "album_uri_pl": "album_uri",
    "album_name_pl": "album_name",
    "artist_genres_pl": "artist_genres",
    "duration_ms_songs_pl": "duration_ms",
    "track_pop_pl": "track_pop",
    "artist_pop_pl": "artist_pop",
    "artists_followers_pl": "artist_followers",
}


def _column(table: pa.Table, name: str, fill: object) -> np.ndarray:
    column = table.column(name)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return np.asarray(column.fill_null(fill).to_pylist(), dtype=object)
    return column.fill_null(fill).to_numpy().astype(np.float64)


def holdout_query_features(
    playlists: pa.Table, seeds: pa.Table, history_length: int
) -> QueryFeatures:
    """Query features of held-out playlists from their title and seed tracks.

    `playlists`: pid, name ('' when the title is hidden), in evaluation order. `seeds`: pid, pos
    and the `tracks` columns of each seed, sorted by (pid, pos); every pid must be a playlist.
    Description and the collaborative flag are not part of the challenge input: '' and 'false'.
    """
    pids = playlists.column("pid").to_numpy()
    n = pids.size
    row_of = {int(pid): row for row, pid in enumerate(pids)}
    seed_pids = seeds.column("pid").to_numpy()
    try:
        seed_rows = np.fromiter((row_of[int(p)] for p in seed_pids), np.int64, seed_pids.size)
    except KeyError as missing:
        raise ValueError(f"seed of pid {missing} has no held-out playlist row") from None
    if seed_rows.size and (np.diff(seed_rows) < 0).any():
        raise ValueError("seeds must be sorted by the playlists' order, then by pos")
    counts = np.bincount(seed_rows, minlength=n)

    features: QueryFeatures = {
        "name": np.asarray(playlists.column("name").fill_null("").to_pylist(), dtype=object),
        "description_pl": np.full(n, "", dtype=object),
        "collaborative": np.full(n, "false", dtype=object),
        "n_songs_pl": counts.astype(np.float64),
    }
    artist_names = _column(seeds, "artist_name", "")
    albums = _column(seeds, "album_uri", "")
    for feature, values in (("num_artists_pl", artist_names), ("num_albums_pl", albums)):
        _, code = np.unique(values.astype(str), return_inverse=True)
        pairs = np.unique(seed_rows * (int(code.max(initial=0)) + 1) + code)
        features[feature] = np.bincount(
            pairs // (int(code.max(initial=0)) + 1), minlength=n
        ).astype(np.float64)
    durations = _column(seeds, "duration_ms", 0.0)
    features["duration_ms_seed_pl"] = np.bincount(seed_rows, durations, minlength=n)

    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    for feature, column in HISTORY_COLUMNS.items():
        fill: object = "" if by_name(QUERY_FEATURES)[feature].dtype == "string" else 0.0
        if column == "artist_genres":
            fill = "NONE"
        features[feature] = Ragged(offsets, _column(seeds, column, fill)).take_last(history_length)
    return features


def pair_query_features(pairs: pa.Table) -> QueryFeatures:
    """Query features of `training_pairs` rows, read back from the warehouse as they are."""
    features: QueryFeatures = {}
    for feature in QUERY_FEATURES:
        if feature.name not in pairs.column_names:
            continue
        column = pairs.column(feature.name)
        if feature.shape == "var_len":
            features[feature.name] = Ragged.from_arrow(
                column, dtype=object if feature.dtype == "string" else np.float64
            )
        elif feature.dtype == "string":
            features[feature.name] = np.asarray(column.fill_null("").to_pylist(), dtype=object)
        else:
            features[feature.name] = column.fill_null(0).to_numpy().astype(np.float64)
    return features


def select_rows(features: QueryFeatures, rows: np.ndarray) -> QueryFeatures:
    return {
        name: value.select(rows) if isinstance(value, Ragged) else value[rows]
        for name, value in features.items()
    }


def feature_rows(features: QueryFeatures) -> int:
    value = next(iter(features.values()))
    return value.rows if isinstance(value, Ragged) else int(value.size)


@dataclass
class SavedModelQueryTower:
    """The query tower saved by the trainer: `serving_default` over raw features -> embedding.

    Histories go in padded at the end to the batch's longest row: '' for strings and NaN for
    floats, the padding the towers mask (pipelines/towers.py `padding_value`).
    """

    path: str
    batch_size: int = 4096

    def __post_init__(self) -> None:
        import tensorflow as tf

        self._tf = tf
        loaded = tf.saved_model.load(self.path)
        if "serving_default" not in loaded.signatures:
            raise ValueError(
                f"query tower at {self.path} has no 'serving_default' signature; "
                f"found {sorted(loaded.signatures)}"
            )
        self._loaded = loaded  # keeps the variables alive
        self._signature = loaded.signatures["serving_default"]
        self._inputs: Mapping[str, Any] = self._signature.structured_input_signature[1]

    @property
    def input_names(self) -> list[str]:
        return sorted(self._inputs)

    def __call__(self, features: QueryFeatures) -> np.ndarray:
        missing = [name for name in self._inputs if name not in features]
        if missing:
            raise ValueError(
                f"query tower at {self.path} needs features {missing} that evaluation "
                f"does not build; it builds {sorted(features)}"
            )
        rows = feature_rows(features)
        outputs = []
        for start in range(0, rows, self.batch_size):
            batch = select_rows(features, np.arange(start, min(rows, start + self.batch_size)))
            outputs.append(self._embed(batch))
        if not outputs:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(outputs).astype(np.float32)

    def _embed(self, batch: QueryFeatures) -> np.ndarray:
        tf = self._tf
        arguments = {}
        for name, spec in self._inputs.items():
            value = batch[name]
            string = spec.dtype == tf.string
            if isinstance(value, Ragged):
                width = max(1, int(value.lengths.max(initial=0)))
                padded = value.padded(width, "" if string else np.nan)
                value = padded.astype(object if string else np.float32)
            arguments[name] = tf.constant(value.astype(object) if string else value, spec.dtype)
        result = self._signature(**arguments)
        if isinstance(result, dict):
            key = "embedding" if "embedding" in result else next(iter(result))
            result = result[key]
        return result.numpy()


def exact_top_k(queries: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the k candidates with the largest inner product, best first (exact)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    candidates = np.ascontiguousarray(candidates, dtype=np.float32)
    if queries.shape[1] != candidates.shape[1]:
        raise ValueError(
            f"query embeddings have {queries.shape[1]} dimensions, candidate embeddings "
            f"{candidates.shape[1]}: the towers do not match"
        )
    index = faiss.IndexFlatIP(candidates.shape[1])
    index.add(candidates)
    _, found = index.search(queries, min(k, candidates.shape[0]))
    return found.astype(np.int64)


@dataclass
class TwoTowerRetriever:
    """Query encoder + candidate embeddings whose rows are the catalogue ids `candidate_ids`."""

    encode: QueryEncoder
    candidate_embeddings: np.ndarray
    candidate_ids: np.ndarray

    def recommend(self, features: QueryFeatures, exclude: Ragged, k: int) -> np.ndarray:
        """[rows, k] catalogue ids by inner product, `exclude` (the seeds) left out."""
        queries = self.encode(features)
        if not np.isfinite(queries).all():
            bad = int(np.flatnonzero(~np.isfinite(queries).all(axis=1))[0])
            raise ValueError(f"query tower returned a non-finite embedding for row {bad}")
        depth = k + int(exclude.lengths.max(initial=0))
        found = exact_top_k(queries, self.candidate_embeddings, depth)
        ids = np.where(found >= 0, self.candidate_ids[np.maximum(found, 0)], -1)
        return take_excluding(ids, exclude, k)
