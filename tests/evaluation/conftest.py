"""A small synthetic world for the evaluation: warehouse tables in a real DuckDB file and
hand-built query towers saved as real SavedModels (one that knows the clusters, one random).

Playlists each draw from one of a few track clusters with a popularity skew, so item
co-occurrence and a cluster-aware tower can beat popularity, and a random tower cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

CLUSTERS = 8
TRACKS_PER_CLUSTER = 80
MODULUS = 10
HISTORY = 5
CATEGORIES = (
    ("01_title_only", True, 0, "first"),
    ("02_title_first_1", True, 1, "first"),
    ("04_first_5", False, 5, "first"),
    ("08_title_random_5", True, 5, "random"),
)


@dataclass
class World:
    home: Path
    database: Path
    track_cluster: dict[str, int]
    title_cluster: dict[str, int]


def _uri(track: int) -> str:
    return f"spotify:track:t{track:04d}"


def build_world(home: Path, playlists: int = 600, seed: int = 3) -> World:
    rng = np.random.default_rng(seed)
    n_tracks = CLUSTERS * TRACKS_PER_CLUSTER
    cluster_of = np.arange(n_tracks) // TRACKS_PER_CLUSTER
    weights = 1.0 / np.arange(1, TRACKS_PER_CLUSTER + 1) ** 0.8
    weights /= weights.sum()
    lists, names = [], []
    for pid in range(playlists):
        cluster = pid % CLUSTERS if pid % MODULUS else (pid // MODULUS) % CLUSTERS
        length = int(rng.integers(12, 40))
        own = cluster * TRACKS_PER_CLUSTER + rng.choice(
            TRACKS_PER_CLUSTER, size=length, replace=False, p=weights
        )
        noise = rng.random(length) < 0.1  # some tracks from anywhere
        own[noise] = rng.integers(0, n_tracks, size=int(noise.sum()))
        lists.append(list(dict.fromkeys(own.tolist())))
        names.append(f"Cluster {cluster} mix" if pid % 3 else f"cluster {cluster}  MIX!")
    train = [pid for pid in range(playlists) if pid % MODULUS]
    track_pop = np.zeros(n_tracks)
    for pid in train:
        track_pop[lists[pid]] += 1
    artist = np.arange(n_tracks) // 4
    artist_pop = np.zeros(artist.max() + 1)
    for pid in train:
        artist_pop[np.unique(artist[lists[pid]])] += 1

    tracks = pa.table(
        {
            "track_uri": [_uri(t) for t in range(n_tracks)],
            "track_name": [f"song {t}" for t in range(n_tracks)],
            "artist_uri": [f"spotify:artist:a{a}" for a in artist],
            "artist_name": [f"artist {a}" for a in artist],
            "album_uri": [f"spotify:album:b{t // 8}" for t in range(n_tracks)],
            "album_name": [f"album {t // 8}" for t in range(n_tracks)],
            "artist_genres": ["NONE"] * n_tracks,
            "duration_ms": pa.array([200_000 + t for t in range(n_tracks)], pa.int64()),
            "track_pop": track_pop,
            "artist_pop": artist_pop[artist],
            "artist_followers": np.zeros(n_tracks),
        }
    )
    pair_rows: dict[str, list] = {name: [] for name in _PAIR_COLUMNS}
    for pid, items in enumerate(lists):
        for pos in range(1, len(items)):
            prefix, history = items[:pos], items[max(0, pos - HISTORY) : pos]
            candidate = items[pos]
            row = {
                "pid": pid,
                "pos": pos,
                "split": "valid" if pid % MODULUS == 0 else "train",
                "name": names[pid],
                "description_pl": "",
                "collaborative": "false",
                "n_songs_pl": float(pos),
                "num_artists_pl": float(len(set(artist[prefix]))),
                "num_albums_pl": float(len({t // 8 for t in prefix})),
                "duration_ms_seed_pl": float(sum(200_000 + t for t in prefix)),
                "track_uri_pl": [_uri(t) for t in history],
                "track_name_pl": [f"song {t}" for t in history],
                "artist_uri_pl": [f"spotify:artist:a{artist[t]}" for t in history],
                "artist_name_pl": [f"artist {artist[t]}" for t in history],
                "album_uri_pl": [f"spotify:album:b{t // 8}" for t in history],
                "album_name_pl": [f"album {t // 8}" for t in history],
                "artist_genres_pl": ["NONE"] * len(history),
                "duration_ms_songs_pl": [float(200_000 + t) for t in history],
                "track_pop_pl": [float(track_pop[t]) for t in history],
                "artist_pop_pl": [float(artist_pop[artist[t]]) for t in history],
                "artists_followers_pl": [0.0] * len(history),
                "track_uri_can": _uri(candidate),
            }
            for name in _PAIR_COLUMNS:
                pair_rows[name].append(row[name])
    training_pairs = pa.table(pair_rows)

    holdout, seeds, hidden = [], [], []
    for index, pid in enumerate(range(0, playlists, MODULUS)):
        category, title_given, n_seeds, order = CATEGORIES[index % len(CATEGORIES)]
        items = lists[pid]
        positions = list(range(len(items)))
        if order == "random":
            chosen = sorted(rng.choice(len(items), size=n_seeds, replace=False).tolist())
        else:
            chosen = positions[:n_seeds]
        holdout.append(
            (
                pid,
                category,
                title_given,
                n_seeds,
                len(items) - n_seeds,
                names[pid] if title_given else "",
            )
        )
        for pos in positions:
            (seeds if pos in chosen else hidden).append((pid, pos, _uri(items[pos])))
    database = home / "warehouse.duckdb"
    connection = duckdb.connect(str(database))
    try:
        for name, table in (
            ("tracks", tracks),
            ("training_pairs", training_pairs),
            (
                "holdout_playlists",
                _rows(
                    holdout, ["pid", "category", "title_given", "num_seeds", "num_hidden", "name"]
                ),
            ),
            ("holdout_seeds", _rows(seeds, ["pid", "pos", "track_uri"])),
            ("holdout_hidden", _rows(hidden, ["pid", "pos", "track_uri"])),
        ):
            connection.register("incoming", table)
            connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
            connection.unregister("incoming")
    finally:
        connection.close()
    titles = {}
    for pid in train:
        titles[names[pid]] = pid % CLUSTERS
    return World(
        home=home,
        database=database,
        track_cluster={_uri(t): int(cluster_of[t]) for t in range(n_tracks)},
        title_cluster=titles,
    )


_PAIR_COLUMNS = [
    "pid", "pos", "split", "name", "description_pl", "collaborative", "n_songs_pl",
    "num_artists_pl", "num_albums_pl", "duration_ms_seed_pl", "track_uri_pl", "track_name_pl",
    "artist_uri_pl", "artist_name_pl", "album_uri_pl", "album_name_pl", "artist_genres_pl",
    "duration_ms_songs_pl", "track_pop_pl", "artist_pop_pl", "artists_followers_pl",
    "track_uri_can",
]  # fmt: skip


def _rows(rows: list[tuple], names: list[str]) -> pa.Table:
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})


def save_cluster_tower(world: World, path: Path, trained: bool) -> None:
    """A query tower over (name, n_songs_pl, track_uri_pl) with a `serving_default` signature.

    trained=True: the mean one-hot cluster of the history (or of the title when there is none);
    trained=False: random vectors per track and title, the stand-in for an untrained tower.
    """
    import tensorflow as tf

    uris = sorted(world.track_cluster)
    titles = sorted(world.title_cluster)
    rng = np.random.default_rng(11)
    if trained:
        track_vectors = np.eye(CLUSTERS, dtype=np.float32)[[world.track_cluster[u] for u in uris]]
        title_vectors = np.eye(CLUSTERS, dtype=np.float32)[[world.title_cluster[t] for t in titles]]
    else:
        track_vectors = rng.normal(size=(len(uris), CLUSTERS)).astype(np.float32)
        title_vectors = rng.normal(size=(len(titles), CLUSTERS)).astype(np.float32)

    class Tower(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tracks = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(uris, tf.range(len(uris), dtype=tf.int64)), -1
            )
            self.titles = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(titles, tf.range(len(titles), dtype=tf.int64)),
                -1,
            )
            self.track_vectors = tf.Variable(
                np.vstack([track_vectors, np.zeros((1, CLUSTERS), np.float32)])
            )
            self.title_vectors = tf.Variable(
                np.vstack([title_vectors, np.zeros((1, CLUSTERS), np.float32)])
            )

        @tf.function(
            input_signature=[
                {
                    "name": tf.TensorSpec([None], tf.string, name="name"),
                    "n_songs_pl": tf.TensorSpec([None], tf.float32, name="n_songs_pl"),
                    "track_uri_pl": tf.TensorSpec([None, None], tf.string, name="track_uri_pl"),
                }
            ]
        )
        def embed(self, features: dict) -> dict:
            ids = self.tracks.lookup(features["track_uri_pl"])
            ids = tf.where(ids < 0, tf.cast(len(uris), tf.int64), ids)
            mask = tf.cast(features["track_uri_pl"] != "", tf.float32)[..., None]
            history = tf.reduce_sum(tf.gather(self.track_vectors, ids) * mask, axis=1)
            title = self.titles.lookup(features["name"])
            title = tf.gather(
                self.title_vectors, tf.where(title < 0, tf.cast(len(titles), tf.int64), title)
            )
            has_history = features["n_songs_pl"][:, None] > 0
            vector = tf.where(has_history, history, title)
            return {"embedding": tf.math.l2_normalize(tf.cast(vector, tf.float32), axis=1)}

    tower = Tower()
    tf.saved_model.save(tower, str(path), signatures={"serving_default": tower.embed})


def write_candidate_embeddings(world: World, path: Path) -> None:
    """One-hot cluster plus a small popularity term, so ties break towards popular tracks."""
    connection = duckdb.connect(str(world.database), read_only=True)
    try:
        tracks = connection.sql("SELECT track_uri, track_pop FROM tracks").to_arrow_table()
    finally:
        connection.close()
    uris = tracks.column("track_uri").to_pylist()
    pop = tracks.column("track_pop").to_numpy()
    vectors = np.eye(CLUSTERS, dtype=np.float32)[[world.track_cluster[u] for u in uris]]
    vectors += (0.01 * np.log1p(pop))[:, None].astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"track_uri": uris, "embedding": pa.array(list(vectors), pa.list_(pa.float32()))}),
        path,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    home = tmp_path_factory.mktemp("evaluation_home")
    built = build_world(home)
    write_candidate_embeddings(built, home / "embeddings" / "candidate_embeddings.parquet")
    return built


@pytest.fixture
def tower_saver():  # noqa: ANN201 - returns save_cluster_tower (tests cannot import conftest)
    return save_cluster_tower
