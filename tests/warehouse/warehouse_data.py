"""Hand-shaped synthetic playlists for the warehouse tests (no Dagster, no files)."""

from __future__ import annotations

import random

import pyarrow as pa

from twotower_assets.mpd.tables import PLAYLIST_TRACKS_SCHEMA, PLAYLISTS_SCHEMA

# The ingest's own schemas: the tests build exactly what `playlists` writes.
PLAYLIST_SCHEMA = PLAYLISTS_SCHEMA
TRACK_SCHEMA = PLAYLIST_TRACKS_SCHEMA

# Small modulus so a few hundred playlists give every holdout category and both splits.
VALID_MODULUS = 10
HISTORY_LENGTH = 3
# Held-out pids long enough for the 25- and 100-seed categories they are assigned to.
LONG_HELD_OUT = {70: 30, 80: 120, 90: 150}


def track_attributes(track: int) -> dict:
    artist = track % 17
    album = track % 29
    return {
        "track_uri": f"spotify:track:t{track}",
        "track_name": "" if track % 31 == 0 else f"song {track}",  # '' must become 'NONE'
        "artist_uri": f"spotify:artist:a{artist}",
        "artist_name": f"artist {artist % 13}",  # names shared by distinct artist URIs
        "album_uri": f"spotify:album:b{album}",
        "album_name": f"album {album}",
        "duration_ms": 120_000 + track * 1000,
    }


def synthetic_tables(playlists: int, seed: int) -> tuple[pa.Table, pa.Table]:
    rng = random.Random(seed)
    playlist_rows: list[dict] = []
    track_rows: list[dict] = []
    lengths = [1, 2, 3, 4, 6, 11, 26, 101, 130]  # short ones must fall back to a category
    for pid in range(playlists):
        length = lengths[pid % len(lengths)] if pid < 60 else rng.randint(5, 40)
        length = LONG_HELD_OUT.get(pid, length)
        total = 0
        for pos in range(length):
            track = rng.randint(0, 120) if rng.random() < 0.9 else pos  # repeats inside playlists
            row = {"slice": "0-999", "pid": pid, "pos": pos, **track_attributes(track)}
            if track == 7 and pid % 5 == 0:
                row["track_name"] = "song 7 (remastered)"  # minority spelling of one URI
            total += row["duration_ms"]
            track_rows.append(row)
        playlist_rows.append(
            {
                "slice": "0-999",
                "pid": pid,
                "name": f"mix {pid % 9}" if pid % 23 else "",
                "description": None if pid % 3 else f"about {pid}",
                "collaborative": pid % 4 == 0,
                "modified_at": 1_500_000_000 + pid,
                "num_tracks": length,
                "num_albums": 0,
                "num_artists": 0,
                "num_followers": 1,
                "num_edits": 1,
                "duration_ms": total,
            }
        )
    return (
        pa.Table.from_pylist(playlist_rows, schema=PLAYLIST_SCHEMA),
        pa.Table.from_pylist(track_rows, schema=TRACK_SCHEMA),
    )
