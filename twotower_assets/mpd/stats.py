"""The statistics of the MPD's own `stats.py`, computed fast: orjson, one process per core.

Each worker summarizes a share of the slice files into counters; the parent merges them. The
normalization of titles is the MPD's (lowercase, punctuation to spaces, collapsed whitespace).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twotower_assets.mpd.read import list_slice_files, read_slice

_PUNCTUATION = re.compile(r"[.,\/#!$%\^\*;:{}=\_`~()@]")
_SPACES = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    """The MPD's title normalization."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", name.lower())).strip()


@dataclass
class MpdStatistics:
    files: int = 0
    playlists: int = 0
    tracks: int = 0
    descriptions: int = 0
    titles: Counter[str] = field(default_factory=Counter)
    normalized_titles: Counter[str] = field(default_factory=Counter)
    track_counts: Counter[str] = field(default_factory=Counter)
    track_names: dict[str, str] = field(default_factory=dict)
    artist_counts: Counter[str] = field(default_factory=Counter)
    artist_names: dict[str, str] = field(default_factory=dict)
    album_uris: set[str] = field(default_factory=set)
    playlists_with_track: Counter[str] = field(default_factory=Counter)
    lengths: Counter[int] = field(default_factory=Counter)
    edits: Counter[int] = field(default_factory=Counter)
    followers: Counter[int] = field(default_factory=Counter)
    albums_per_playlist: Counter[int] = field(default_factory=Counter)
    modified_months: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def unique_tracks(self) -> int:
        return len(self.track_counts)

    @property
    def unique_artists(self) -> int:
        return len(self.artist_counts)

    @property
    def unique_albums(self) -> int:
        return len(self.album_uris)

    @property
    def average_length(self) -> float:
        return self.tracks / self.playlists if self.playlists else 0.0

    @property
    def top_track_playlist_share(self) -> float:
        """Share of playlists holding the most common track (MPD: about 4.6%)."""
        if not self.playlists_with_track:
            return 0.0
        return self.playlists_with_track.most_common(1)[0][1] / self.playlists

    def merge(self, other: MpdStatistics) -> None:
        self.files += other.files
        self.playlists += other.playlists
        self.tracks += other.tracks
        self.descriptions += other.descriptions
        for name in (
            "titles",
            "normalized_titles",
            "track_counts",
            "artist_counts",
            "playlists_with_track",
            "lengths",
            "edits",
            "followers",
            "albums_per_playlist",
            "modified_months",
        ):
            getattr(self, name).update(getattr(other, name))
        self.track_names.update(other.track_names)
        self.artist_names.update(other.artist_names)
        self.album_uris |= other.album_uris


def _summarize(paths: list[str]) -> MpdStatistics:
    stats = MpdStatistics()
    for path in paths:
        stats.files += 1
        for playlist in read_slice(path)["playlists"]:
            stats.playlists += 1
            name = playlist.get("name", "")
            stats.titles[name] += 1
            stats.normalized_titles[normalize_name(name)] += 1
            if playlist.get("description"):
                stats.descriptions += 1
            tracks = playlist.get("tracks", [])
            stats.tracks += len(tracks)
            stats.lengths[len(tracks)] += 1
            stats.edits[playlist.get("num_edits", 0)] += 1
            stats.followers[playlist.get("num_followers", 0)] += 1
            stats.albums_per_playlist[playlist.get("num_albums", 0)] += 1
            modified = datetime.fromtimestamp(playlist.get("modified_at", 0), UTC)
            stats.modified_months[modified.strftime("%Y-%m")] += 1
            uris = [track["track_uri"] for track in tracks]
            stats.track_counts.update(uris)
            stats.playlists_with_track.update(set(uris))
            stats.artist_counts.update(track["artist_uri"] for track in tracks)
            stats.album_uris.update(track["album_uri"] for track in tracks)
            for track in tracks:
                if track["track_uri"] not in stats.track_names:
                    stats.track_names[track["track_uri"]] = (
                        f"{track['track_name']} by {track['artist_name']}"
                    )
                    stats.artist_names.setdefault(track["artist_uri"], track["artist_name"])
    return stats


def compute_statistics(directory: str, workers: int | None = None) -> MpdStatistics:
    """Statistics over every slice file in `directory` (local or gs://)."""
    started = time.perf_counter()
    paths = list_slice_files(directory)
    workers = max(1, min(workers or os.cpu_count() or 1, len(paths)))
    total = MpdStatistics()
    if workers == 1:
        total = _summarize(paths)
    else:
        shares = [paths[index::workers] for index in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_summarize, shares):
                total.merge(part)
    total.seconds = time.perf_counter() - started
    return total


def _histogram(counter: Counter[Any], bins: list[tuple[int, int]]) -> list[tuple[str, int]]:
    rows = []
    for low, high in bins:
        count = sum(n for value, n in counter.items() if low <= value <= high)
        rows.append((f"{low}-{high}" if high != low else f"{low}", count))
    return rows


def format_statistics(stats: MpdStatistics, top: int = 20) -> str:
    """The report in the shape of the MPD's stats.txt."""
    lines = [
        f"number of playlists {stats.playlists}",
        f"number of tracks {stats.tracks}",
        f"number of unique tracks {stats.unique_tracks}",
        f"number of unique albums {stats.unique_albums}",
        f"number of unique artists {stats.unique_artists}",
        f"number of unique titles {len(stats.titles)}",
        f"number of playlists with descriptions {stats.descriptions}",
        f"number of unique normalized titles {len(stats.normalized_titles)}",
        f"avg playlist length {stats.average_length:.6f}",
        "",
        "top playlist titles",
    ]
    lines += [f"  {count:7d} {title}" for title, count in stats.normalized_titles.most_common(top)]
    lines += ["", "top tracks"]
    lines += [
        f"  {count:7d} {uri} {stats.track_names.get(uri, '')}"
        for uri, count in stats.track_counts.most_common(top)
    ]
    lines += ["", "top artists"]
    lines += [
        f"  {count:7d} {uri} {stats.artist_names.get(uri, '')}"
        for uri, count in stats.artist_counts.most_common(top)
    ]
    length_bins = [
        (0, 4),
        (5, 9),
        (10, 19),
        (20, 29),
        (30, 49),
        (50, 99),
        (100, 149),
        (150, 199),
        (200, 250),
        (251, 10**9),
    ]
    small_bins = [
        (0, 0),
        (1, 1),
        (2, 2),
        (3, 5),
        (6, 10),
        (11, 20),
        (21, 50),
        (51, 100),
        (101, 10**9),
    ]
    for title, counter, bins in (
        ("histogram of playlist lengths", stats.lengths, length_bins),
        ("histogram of albums per playlist", stats.albums_per_playlist, length_bins),
        ("histogram of edits", stats.edits, small_bins),
        ("histogram of followers", stats.followers, small_bins),
    ):
        lines += ["", title]
        lines += [f"  {label:>12} {count}" for label, count in _histogram(counter, bins)]
    lines += ["", "histogram of last modified (by year)"]
    years: Counter[str] = Counter()
    for month, count in stats.modified_months.items():
        years[month[:4]] += count
    lines += [f"  {year} {count}" for year, count in sorted(years.items())]
    lines += ["", f"({stats.files} files in {stats.seconds:.1f} s)"]
    return "\n".join(lines)
