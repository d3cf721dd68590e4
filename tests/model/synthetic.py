"""A tiny synthetic MPD-like sample written straight as TFRecord shards + vocabulary.json.

Playlists draw tracks from one themed cluster (title words, artists and tracks belong to it),
so a working two-tower model must learn the clusters; popularity inside a cluster is Zipf-like.
Written from `feature_spec` with tf.train.Example directly (no Beam), for model tests and the
benchmark only.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf

from twotower_assets.pipelines.feature_spec import (
    CANDIDATE_FEATURES,
    QUERY_FEATURES,
    TRAINING_FEATURES,
    Feature,
)

THEMES = ("chill", "rock", "party", "country", "jazz", "workout", "sleep", "rap")


@dataclass(frozen=True)
class Track:
    uri: str
    name: str
    artist_uri: str
    artist_name: str
    album_uri: str
    album_name: str
    duration_ms: float
    theme: int


@dataclass(frozen=True)
class SyntheticSample:
    root: Path
    tracks: list[Track]
    train_pairs: int
    valid_pairs: int
    track_pop: dict[str, int]


def _catalogue(rng: np.random.Generator, themes: int, tracks_per_theme: int) -> list[Track]:
    tracks = []
    for theme in range(themes):
        for index in range(tracks_per_theme):
            artist = index % max(2, tracks_per_theme // 4)
            tracks.append(
                Track(
                    uri=f"spotify:track:t{theme}x{index}",
                    name=f"{THEMES[theme % len(THEMES)]} song {index}",
                    artist_uri=f"spotify:artist:a{theme}x{artist}",
                    artist_name=f"Artist {theme}-{artist}",
                    album_uri=f"spotify:album:b{theme}x{artist}",
                    album_name=f"Album {theme}-{artist}",
                    duration_ms=float(rng.integers(120_000, 360_000)),
                    theme=theme,
                )
            )
    return tracks


def _bytes(values: list[str]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))


def _floats(values: list[float]) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _ints(values: list[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _example(features: tuple[Feature, ...], row: dict) -> bytes:
    encoded = {}
    for feature in features:
        value = row[feature.name]
        values = value if feature.shape == "var_len" else [value]
        if feature.dtype == "string":
            encoded[feature.name] = _bytes(values)
        elif feature.dtype == "float":
            encoded[feature.name] = _floats([float(v) for v in values])
        else:
            encoded[feature.name] = _ints([int(v) for v in values])
    return tf.train.Example(features=tf.train.Features(feature=encoded)).SerializeToString()


def _candidate_row(track: Track, track_pop: Counter, artist_pop: Counter) -> dict:
    return {
        "track_uri_can": track.uri,
        "track_name_can": track.name,
        "artist_uri_can": track.artist_uri,
        "artist_name_can": track.artist_name,
        "album_uri_can": track.album_uri,
        "album_name_can": track.album_name,
        "artist_genres_can": "NONE",
        "duration_ms_can": track.duration_ms,
        "track_pop_can": float(track_pop[track.uri]),
        "artist_pop_can": float(artist_pop[track.artist_uri]),
        "artist_followers_can": 0.0,
    }


def _query_row(name: str, prefix: list[Track], history_length: int, pop: Counter, apop: Counter):
    last = prefix[-history_length:]
    return {
        "name": name,
        "description_pl": "",
        "collaborative": "false",
        "n_songs_pl": float(len(prefix)),
        "num_artists_pl": float(len({t.artist_name for t in prefix})),
        "num_albums_pl": float(len({t.album_uri for t in prefix})),
        "duration_ms_seed_pl": float(sum(t.duration_ms for t in prefix)),
        "track_uri_pl": [t.uri for t in last],
        "track_name_pl": [t.name for t in last],
        "artist_uri_pl": [t.artist_uri for t in last],
        "artist_name_pl": [t.artist_name for t in last],
        "album_uri_pl": [t.album_uri for t in last],
        "album_name_pl": [t.album_name for t in last],
        "artist_genres_pl": ["NONE" for _ in last],
        "duration_ms_songs_pl": [t.duration_ms for t in last],
        "track_pop_pl": [float(pop[t.uri]) for t in last],
        "artist_pop_pl": [float(apop[t.artist_uri]) for t in last],
        "artists_followers_pl": [0.0 for _ in last],
    }


def write_sample(
    root: Path,
    *,
    playlists: int = 200,
    themes: int = 4,
    tracks_per_theme: int = 30,
    playlist_length: int = 12,
    history_length: int = 5,
    valid_modulus: int = 10,
    shards: int = 2,
    seed: int = 7,
) -> SyntheticSample:
    """Write tfrecords/{train,valid,candidates}/ and vocabulary/ under `root`."""
    rng = np.random.default_rng(seed)
    tracks = _catalogue(rng, themes, tracks_per_theme)
    by_theme = [[t for t in tracks if t.theme == k] for k in range(themes)]
    weights = 1.0 / np.arange(1, tracks_per_theme + 1)
    weights /= weights.sum()
    lists = []
    for pid in range(playlists):
        theme = int(rng.integers(themes))
        picks = rng.choice(tracks_per_theme, size=playlist_length, replace=False, p=weights)
        word = THEMES[theme % len(THEMES)]
        name = f"{word} {'mix' if pid % 2 else 'vibes'}"
        lists.append((pid, name, [by_theme[theme][i] for i in picks]))
    train_lists = [entry for entry in lists if entry[0] % valid_modulus != 0]
    pop = Counter(t.uri for _, _, members in train_lists for t in set(members))
    apop = Counter(a for _, _, m in train_lists for a in {t.artist_uri for t in m})

    rows: dict[str, list[dict]] = {"train": [], "valid": []}
    for pid, name, members in lists:
        split = "valid" if pid % valid_modulus == 0 else "train"
        for pos in range(1, len(members)):
            row = {"pid": pid, "pos": pos}
            row.update(_query_row(name, members[:pos], history_length, pop, apop))
            row.update(_candidate_row(members[pos], pop, apop))
            rows[split].append(row)
    order = rng.permutation(len(rows["train"]))
    rows["train"] = [rows["train"][i] for i in order]

    for split, features in (("train", TRAINING_FEATURES), ("valid", TRAINING_FEATURES)):
        _write_shards(root / "tfrecords" / split, rows[split], features, shards)
    candidates = [_candidate_row(t, pop, apop) for t in tracks]
    _write_shards(root / "tfrecords" / "candidates", candidates, CANDIDATE_FEATURES, shards)
    _write_vocabulary(root / "vocabulary", rows["train"], history_length, valid_modulus)
    return SyntheticSample(root, tracks, len(rows["train"]), len(rows["valid"]), dict(pop))


def _write_shards(folder: Path, rows: list[dict], features: tuple[Feature, ...], shards: int):
    folder.mkdir(parents=True, exist_ok=True)
    for shard in range(shards):
        path = folder / f"part-{shard:05d}-of-{shards:05d}.tfrecord.gz"
        with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
            for row in rows[shard::shards]:
                writer.write(_example(features, row))


def _write_vocabulary(folder: Path, rows: list[dict], history_length: int, valid_modulus: int):
    folder.mkdir(parents=True, exist_ok=True)
    counters: dict[str, Counter] = {
        key: Counter()
        for key in (
            "track_uri",
            "track_name",
            "artist_uri",
            "artist_name",
            "album_uri",
            "album_name",
            "artist_genres",
            "title_tokens",
        )
    }
    floats: dict[str, list[float]] = {}
    for row in rows:
        for key in counters:
            if key == "title_tokens":
                counters[key].update(row["name"].lower().split())
            else:
                counters[key][row[f"{key}_can"]] += 1
                counters[key].update(row[f"{key}_pl"])
        for feature in QUERY_FEATURES + CANDIDATE_FEATURES:
            if feature.dtype == "float":
                value = row[feature.name]
                floats.setdefault(feature.name, []).extend(
                    value if isinstance(value, list) else [value]
                )
    vocabularies = {}
    for key, counter in counters.items():
        values = [v for v, _ in counter.most_common()]
        (folder / f"{key}.txt").write_text("\n".join(values) + "\n", encoding="utf-8")
        vocabularies[key] = {"file": f"{key}.txt", "size": len(values)}
    statistics = {
        name: {
            "min": float(np.min(v)),
            "max": float(np.max(v)),
            "mean": float(np.mean(v)),
            "variance": float(np.var(v)),
            "count": len(v),
        }
        for name, v in floats.items()
    }
    manifest = {
        "format_version": 1,
        "history_length": history_length,
        "valid_modulus": valid_modulus,
        "train_pairs": len(rows),
        "vocabularies": vocabularies,
        "statistics": statistics,
        "distinct_counts": {k: len(c) for k, c in counters.items()},
    }
    (folder / "vocabulary.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
