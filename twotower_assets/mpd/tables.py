"""One slice file -> the three warehouse tables of the ingest (Arrow), without Dagster.

Schemas follow docs/architecture.md (`playlists`, `playlist_tracks`, `rejected_playlists`); one
slice is held in memory at a time, so a 33 MB slice needs a few hundred MB, not gigabytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from twotower_assets.mpd.read import SliceKey, read_bytes
from twotower_assets.mpd.validate import SliceValidation, validate_bytes

PLAYLISTS_SCHEMA = pa.schema(
    [
        ("slice", pa.string()),
        ("pid", pa.int64()),
        ("name", pa.string()),
        ("description", pa.string()),
        ("collaborative", pa.bool_()),
        ("modified_at", pa.int64()),
        ("num_tracks", pa.int64()),
        ("num_albums", pa.int64()),
        ("num_artists", pa.int64()),
        ("num_followers", pa.int64()),
        ("num_edits", pa.int64()),
        ("duration_ms", pa.int64()),
    ]
)
PLAYLIST_TRACKS_SCHEMA = pa.schema(
    [
        ("slice", pa.string()),
        ("pid", pa.int64()),
        ("pos", pa.int64()),
        ("track_uri", pa.string()),
        ("track_name", pa.string()),
        ("artist_uri", pa.string()),
        ("artist_name", pa.string()),
        ("album_uri", pa.string()),
        ("album_name", pa.string()),
        ("duration_ms", pa.int64()),
    ]
)
REJECTED_SCHEMA = pa.schema(
    [
        ("slice", pa.string()),
        ("pid", pa.int64()),
        ("reason", pa.string()),
        ("raw_json", pa.string()),
    ]
)
_TRACK_COLUMNS = (
    "track_uri",
    "track_name",
    "artist_uri",
    "artist_name",
    "album_uri",
    "album_name",
    "duration_ms",
)


@dataclass
class SliceTables:
    """The rows of one slice for each table, plus the counts the asset reports."""

    key: str
    source: str
    playlists: pa.Table
    playlist_tracks: pa.Table
    rejected_playlists: pa.Table
    playlists_in_file: int
    warnings: int
    seconds: float

    @property
    def accepted(self) -> int:
        return self.playlists.num_rows

    @property
    def rejected(self) -> int:
        return self.rejected_playlists.num_rows

    @property
    def tracks(self) -> int:
        return self.playlist_tracks.num_rows


def build_tables(key: str, validation: SliceValidation) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Columnar tables of the accepted playlists, their tracks and the rejections."""
    accepted = validation.accepted
    playlists: dict[str, list[Any]] = {
        "slice": [key] * len(accepted),
        "pid": [p["pid"] for p in accepted],
        "name": [p["name"] for p in accepted],
        "description": [p.get("description") for p in accepted],
        "collaborative": [p["collaborative"] == "true" for p in accepted],
    }
    for name in (
        "modified_at",
        "num_tracks",
        "num_albums",
        "num_artists",
        "num_followers",
        "num_edits",
        "duration_ms",
    ):
        playlists[name] = [p[name] for p in accepted]

    # Flatten once: a list of every track dict, plus the pid of its playlist.
    all_tracks: list[dict[str, Any]] = []
    pids: list[int] = []
    for playlist in accepted:
        tracks = playlist["tracks"]
        all_tracks.extend(tracks)
        pids.extend([playlist["pid"]] * len(tracks))
    track_columns: dict[str, list[Any]] = {
        "slice": [key] * len(all_tracks),
        "pid": pids,
        "pos": [t["pos"] for t in all_tracks],
    }
    for name in _TRACK_COLUMNS:
        track_columns[name] = [t[name] for t in all_tracks]

    rejected = validation.rejected
    rejected_columns = {
        "slice": [key] * len(rejected),
        "pid": [r.pid for r in rejected],
        "reason": [r.reason for r in rejected],
        "raw_json": [r.raw_json for r in rejected],
    }
    return (
        pa.Table.from_pydict(playlists, schema=PLAYLISTS_SCHEMA),
        pa.Table.from_pydict(track_columns, schema=PLAYLIST_TRACKS_SCHEMA),
        pa.Table.from_pydict(rejected_columns, schema=REJECTED_SCHEMA),
    )


def slice_tables(key: str, path: str) -> SliceTables:
    """Read, validate and tabulate the slice file `path` whose partition key is `key`.

    Raises `SliceFormatError` (naming file and position) when the file cannot be parsed.
    """
    started = time.perf_counter()
    validation = validate_bytes(read_bytes(path), path, SliceKey.parse(key), with_warnings=True)
    playlists, tracks, rejected = build_tables(key, validation)
    return SliceTables(
        key=key,
        source=path,
        playlists=playlists,
        playlist_tracks=tracks,
        rejected_playlists=rejected,
        playlists_in_file=validation.playlists_in_file,
        warnings=len(validation.warnings),
        seconds=time.perf_counter() - started,
    )
