"""An independent Python recount of the warehouse tables from the raw playlist rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa

CATEGORIES = [  # (name, title_given, seeds, random), in category-id order (anchors.md 1.1)
    ("title_only", True, 0, False),
    ("title_first_1", True, 1, False),
    ("title_first_5", True, 5, False),
    ("first_5", False, 5, False),
    ("title_first_10", True, 10, False),
    ("first_10", False, 10, False),
    ("title_first_25", True, 25, False),
    ("title_random_25", True, 25, True),
    ("title_first_100", True, 100, False),
    ("title_random_100", True, 100, True),
]


def _none(value: str | None) -> str:
    return value if value else "NONE"


def recount_tracks(rows: list[dict], valid_modulus: int) -> dict[str, dict[str, Any]]:
    attributes: dict[str, Counter] = defaultdict(Counter)
    track_pids: dict[str, set[int]] = defaultdict(set)
    artist_pids: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        key = tuple(
            row[c]
            for c in (
                "track_name",
                "artist_uri",
                "artist_name",
                "album_uri",
                "album_name",
                "duration_ms",
            )
        )
        attributes[row["track_uri"]][key] += 1
        if row["pid"] % valid_modulus != 0:
            track_pids[row["track_uri"]].add(row["pid"])
            artist_pids[row["artist_uri"]].add(row["pid"])
    catalogue = {}
    for uri, counts in attributes.items():
        best = min(counts.items(), key=lambda item: (-item[1], item[0]))[0]
        name, artist_uri, artist_name, album_uri, album_name, duration = best
        catalogue[uri] = {
            "track_uri": uri,
            "track_name": _none(name),
            "artist_uri": _none(artist_uri),
            "artist_name": _none(artist_name),
            "album_uri": _none(album_uri),
            "album_name": _none(album_name),
            "artist_genres": "NONE",
            "duration_ms": float(duration),
            "track_pop": float(len(track_pids[uri])),
            "artist_pop": float(len(artist_pids[artist_uri])),
            "artist_followers": 0.0,
        }
    return catalogue


def recount_pairs(
    playlists: pa.Table, rows: list[dict], catalogue: dict, history: int, valid_modulus: int
) -> dict[tuple[int, int], dict[str, Any]]:
    by_pid: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_pid[row["pid"]].append(row)
    meta = {p["pid"]: p for p in playlists.to_pylist()}
    pairs = {}
    for pid, tracks in by_pid.items():
        tracks.sort(key=lambda r: r["pos"])
        playlist = meta[pid]
        for index in range(1, len(tracks)):
            prefix = [catalogue[r["track_uri"]] for r in tracks[:index]]
            recent = prefix[-history:]
            candidate = catalogue[tracks[index]["track_uri"]]
            pairs[(pid, tracks[index]["pos"])] = {
                "split": "valid" if pid % valid_modulus == 0 else "train",
                "name": _none(playlist["name"]),
                "description_pl": playlist["description"] or "",
                "collaborative": "true" if playlist["collaborative"] else "false",
                "n_songs_pl": float(index),
                "num_artists_pl": float(len({t["artist_name"] for t in prefix})),
                "num_albums_pl": float(len({t["album_uri"] for t in prefix})),
                "duration_ms_seed_pl": float(sum(t["duration_ms"] for t in prefix)),
                "pos_pl": [r["pos"] for r in tracks[:index]][-history:],
                "track_uri_pl": [t["track_uri"] for t in recent],
                "track_name_pl": [t["track_name"] for t in recent],
                "artist_uri_pl": [t["artist_uri"] for t in recent],
                "artist_name_pl": [t["artist_name"] for t in recent],
                "album_uri_pl": [t["album_uri"] for t in recent],
                "album_name_pl": [t["album_name"] for t in recent],
                "artist_genres_pl": [t["artist_genres"] for t in recent],
                "duration_ms_songs_pl": [t["duration_ms"] for t in recent],
                "track_pop_pl": [t["track_pop"] for t in recent],
                "artist_pop_pl": [t["artist_pop"] for t in recent],
                "artists_followers_pl": [t["artist_followers"] for t in recent],
                **{f"{k}_can": v for k, v in candidate.items() if k != "artist_followers"},
                "artist_followers_can": candidate["artist_followers"],
            }
    return pairs


def recount_holdout(
    playlists: pa.Table, rows: list[dict], valid_modulus: int
) -> tuple[dict[int, dict], set[tuple[int, int]]]:
    """Category per held-out pid and the set of (pid, pos) seeds."""
    lengths = Counter(r["pid"] for r in rows)
    names = {p["pid"]: p["name"] for p in playlists.to_pylist()}
    positions: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        positions[row["pid"]].append(row["pos"])
    holdout: dict[int, dict] = {}
    seeds: set[tuple[int, int]] = set()
    for pid, length in lengths.items():
        if pid % valid_modulus:
            continue
        assigned = (pid // valid_modulus) % 10
        name, title, count, random_order = CATEGORIES[assigned]
        if count >= length:  # too short: the largest "title + first k" that fits
            name, title, count, random_order = max(
                (c for c in CATEGORIES if c[1] and not c[3] and c[2] < length),
                key=lambda c: c[2],
            )
        holdout[pid] = {
            "category": name,
            "title_given": title,
            "num_seeds": count,
            "num_hidden": length - count,
            "name": (names[pid] or "") if title else "",
        }
        multiplier = (pid * 2654435761) % 1000003 + 1
        order = sorted(
            positions[pid],
            key=lambda pos: ((pos + 1) * multiplier % 1000003 if random_order else pos, pos),
        )
        seeds.update((pid, pos) for pos in order[:count])
    return holdout, seeds
