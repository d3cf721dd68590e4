"""`twotower mpd show`: print playlists by id or id range, reading only the slices involved."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from twotower_assets.mpd.read import SliceKey, read_slice, slice_path


def parse_pid_specs(specs: Iterable[str]) -> list[int]:
    """`["5", "1000-1002"]` -> `[5, 1000, 1001, 1002]`; errors name the bad spec."""
    pids: list[int] = []
    for spec in specs:
        low, _, high = spec.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"playlist id {spec!r} is not a number or a range like 1000-1010")
        start, end = int(low), int(high) if high else int(low)
        if end < start:
            raise ValueError(f"playlist id range {spec!r} ends before it starts")
        pids.extend(range(start, end + 1))
    return pids


def find_playlists(directory: str, pids: list[int]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(pid, playlist or None when absent), one slice file read per slice involved."""
    by_slice: dict[str, list[int]] = {}
    for pid in pids:
        by_slice.setdefault(SliceKey.for_pid(pid).key, []).append(pid)
    for key, wanted in by_slice.items():
        try:
            playlists = read_slice(slice_path(directory, key))["playlists"]
        except FileNotFoundError:
            playlists = []
        index = {p.get("pid"): p for p in playlists if isinstance(p, dict)}
        for pid in wanted:
            yield pid, index.get(pid)


def format_playlist(playlist: dict[str, Any]) -> str:
    lines = [
        "=====",
        f"pid: {playlist.get('pid')}  name: {playlist.get('name')!r}",
        f"  tracks {playlist.get('num_tracks')}  albums {playlist.get('num_albums')}  artists "
        f"{playlist.get('num_artists')}  followers {playlist.get('num_followers')}  edits "
        f"{playlist.get('num_edits')}  collaborative {playlist.get('collaborative')}  "
        f"modified_at {playlist.get('modified_at')}",
    ]
    if playlist.get("description"):
        lines.append(f"  description: {playlist['description']}")
    for track in playlist.get("tracks", []):
        lines.append(
            f"  {track.get('pos'):>4} {track.get('track_name')} by {track.get('artist_name')} "
            f"({track.get('album_name')}) {track.get('track_uri')}"
        )
    return "\n".join(lines)
