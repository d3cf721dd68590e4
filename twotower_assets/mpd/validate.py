"""The one MPD validator, used by `twotower mpd check` and by the `playlists` ingest asset.

Format faults (missing or mistyped field, num_tracks disagreeing with the track list, a gap or
repeat in `pos`, a duplicate pid, a pid outside the file's range) reject a playlist with a reason
naming pid and field. The sampling constraints of "How was the dataset built" (5..250 tracks,
>= 3 artists, >= 2 albums, >= 1 follower, dates) are only warnings: real slices break some.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from twotower_assets.mpd.read import SliceFormatError, SliceKey, parse_document

# Field -> required Python type. `bool` is an `int` subclass, so types are compared exactly.
PLAYLIST_FIELDS: dict[str, type] = {
    "pid": int,
    "name": str,
    "collaborative": str,
    "modified_at": int,
    "num_tracks": int,
    "num_albums": int,
    "num_artists": int,
    "num_followers": int,
    "num_edits": int,
    "duration_ms": int,
    "tracks": list,
}
OPTIONAL_PLAYLIST_FIELDS: dict[str, type] = {"description": str}
TRACK_FIELDS: dict[str, type] = {
    "pos": int,
    "track_uri": str,
    "track_name": str,
    "artist_uri": str,
    "artist_name": str,
    "album_uri": str,
    "album_name": str,
    "duration_ms": int,
}
URI_PREFIXES = {
    "track_uri": "spotify:track:",
    "artist_uri": "spotify:artist:",
    "album_uri": "spotify:album:",
}
_TRACK_KEYS = frozenset(TRACK_FIELDS)
_TRACK_ITEMS = tuple(TRACK_FIELDS.items())
_URI_ITEMS = tuple(URI_PREFIXES.items())

# Sampling window of the MPD (seconds since the epoch): created 2010-01-01 .. 2017-12-01.
MIN_MODIFIED_AT = 1262304000
MAX_MODIFIED_AT = 1512086400
MIN_TRACKS, MAX_TRACKS = 5, 250


@dataclass(frozen=True)
class Issue:
    """One finding about one playlist: `field` is a path like `tracks[3].pos`."""

    pid: int | None
    field: str
    message: str

    def describe(self) -> str:
        pid = "pid ?" if self.pid is None else f"pid {self.pid}"
        return f"{pid}: {self.field}: {self.message}"


@dataclass
class Rejection:
    pid: int | None
    reason: str
    raw_json: str


@dataclass
class SliceValidation:
    """What one slice file held: accepted playlists, rejections with reasons, warnings."""

    source: str
    key: SliceKey | None
    playlists_in_file: int
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def accepted_tracks(self) -> int:
        return sum(len(playlist["tracks"]) for playlist in self.accepted)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _track_issues(pid: int | None, tracks: list[Any]) -> list[Issue]:
    """Format faults inside the track list (types, URIs, pos sequence)."""
    issues: list[Issue] = []
    for index, track in enumerate(tracks):
        where = f"tracks[{index}]"
        if type(track) is not dict:
            issues.append(Issue(pid, where, f"expected an object, found {_type_name(track)}"))
            continue
        if track.keys() != _TRACK_KEYS:
            missing = sorted(_TRACK_KEYS - track.keys())
            for name in missing:
                issues.append(Issue(pid, f"{where}.{name}", "missing"))
        for name, expected in _TRACK_ITEMS:
            value = track.get(name)
            if value is not None and type(value) is not expected:
                issues.append(
                    Issue(
                        pid,
                        f"{where}.{name}",
                        f"expected {expected.__name__}, found {_type_name(value)} {value!r:.40}",
                    )
                )
            elif value is None and name in track:
                issues.append(
                    Issue(pid, f"{where}.{name}", f"expected {expected.__name__}, found null")
                )
        for name, prefix in _URI_ITEMS:
            value = track.get(name)
            if type(value) is str and not value.startswith(prefix):
                issues.append(
                    Issue(pid, f"{where}.{name}", f"expected '{prefix}...', found {value!r:.60}")
                )
        position = track.get("pos")
        if type(position) is int and position != index:
            kind = "repeat" if 0 <= position < index else "gap"
            issues.append(
                Issue(pid, f"{where}.pos", f"{kind} in pos: expected {index}, found {position}")
            )
    return issues


def _fast_tracks_ok(tracks: list[Any]) -> bool:
    """The common case, checked cheaply: every track exactly well-formed and in order."""
    for index, track in enumerate(tracks):
        if (
            type(track) is not dict
            or track.keys() != _TRACK_KEYS
            or track["pos"] != index
            or type(track["pos"]) is not int
            or type(track["duration_ms"]) is not int
            or type(track["track_uri"]) is not str
            or type(track["track_name"]) is not str
            or type(track["artist_uri"]) is not str
            or type(track["artist_name"]) is not str
            or type(track["album_uri"]) is not str
            or type(track["album_name"]) is not str
            or not track["track_uri"].startswith("spotify:track:")
            or not track["artist_uri"].startswith("spotify:artist:")
            or not track["album_uri"].startswith("spotify:album:")
        ):
            return False
    return True


def playlist_errors(playlist: Any, key: SliceKey | None, seen: set[int]) -> list[Issue]:
    """Format errors of one playlist (empty when it is acceptable). Adds its pid to `seen`."""
    if type(playlist) is not dict:
        return [Issue(None, "playlist", f"expected an object, found {_type_name(playlist)}")]
    pid_value = playlist.get("pid")
    pid = pid_value if type(pid_value) is int else None
    issues: list[Issue] = []
    for name, expected in PLAYLIST_FIELDS.items():
        if name not in playlist:
            issues.append(Issue(pid, name, "missing"))
        elif type(playlist[name]) is not expected:
            value = playlist[name]
            issues.append(
                Issue(
                    pid,
                    name,
                    f"expected {expected.__name__}, found {_type_name(value)} {value!r:.40}",
                )
            )
    for name, expected in OPTIONAL_PLAYLIST_FIELDS.items():
        if name in playlist and type(playlist[name]) is not expected:
            issues.append(
                Issue(
                    pid,
                    name,
                    f"expected {expected.__name__} when present, found "
                    f"{_type_name(playlist[name])}",
                )
            )
    if type(playlist.get("collaborative")) is str and playlist["collaborative"] not in (
        "true",
        "false",
    ):
        issues.append(
            Issue(
                pid,
                "collaborative",
                f"expected 'true' or 'false', found {playlist['collaborative']!r:.40}",
            )
        )
    if pid is not None:
        if key is not None and not key.contains(pid):
            issues.append(Issue(pid, "pid", f"outside the file's range {key.key}"))
        if pid in seen:
            issues.append(Issue(pid, "pid", "duplicate pid within the file"))
        seen.add(pid)
    tracks = playlist.get("tracks")
    if type(tracks) is list:
        if not _fast_tracks_ok(tracks):
            issues.extend(_track_issues(pid, tracks))
        num_tracks = playlist.get("num_tracks")
        if type(num_tracks) is int and num_tracks != len(tracks):
            issues.append(
                Issue(
                    pid, "num_tracks", f"says {num_tracks} but the track list holds {len(tracks)}"
                )
            )
    return issues


def playlist_warnings(playlist: dict[str, Any]) -> list[Issue]:
    """Breaches of the MPD's sampling constraints by an otherwise valid playlist."""
    pid = playlist["pid"]
    tracks = playlist["tracks"]
    warnings: list[Issue] = []
    count = len(tracks)
    if count < MIN_TRACKS or count > MAX_TRACKS:
        warnings.append(
            Issue(
                pid,
                "num_tracks",
                f"{count} tracks, outside the sampling range {MIN_TRACKS}..{MAX_TRACKS}",
            )
        )
    artists = {track["artist_uri"] for track in tracks}
    albums = {track["album_uri"] for track in tracks}
    if len(artists) < 3:
        warnings.append(
            Issue(pid, "num_artists", f"{len(artists)} unique artists, sampling requires >= 3")
        )
    if len(albums) < 2:
        warnings.append(
            Issue(pid, "num_albums", f"{len(albums)} unique albums, sampling requires >= 2")
        )
    if playlist["num_artists"] != len(artists):
        warnings.append(
            Issue(
                pid, "num_artists", f"says {playlist['num_artists']}, track list has {len(artists)}"
            )
        )
    if playlist["num_albums"] != len(albums):
        warnings.append(
            Issue(pid, "num_albums", f"says {playlist['num_albums']}, track list has {len(albums)}")
        )
    if playlist["num_followers"] < 1:
        warnings.append(
            Issue(pid, "num_followers", f"{playlist['num_followers']}, sampling requires >= 1")
        )
    if not MIN_MODIFIED_AT <= playlist["modified_at"] <= MAX_MODIFIED_AT:
        warnings.append(
            Issue(pid, "modified_at", f"{playlist['modified_at']} outside 2010-01-01..2017-12-01")
        )
    return warnings


def validate_document(
    document: dict[str, Any], source: str, key: SliceKey | None, with_warnings: bool = True
) -> SliceValidation:
    """Split a parsed slice into accepted and rejected playlists (nothing is dropped)."""
    playlists = document["playlists"]
    result = SliceValidation(source=source, key=key, playlists_in_file=len(playlists))
    info = document.get("info")
    if key is not None and isinstance(info, dict) and "slice" in info and info["slice"] != key.key:
        result.warnings.append(
            Issue(None, "info.slice", f"says {info['slice']!r}, file name says {key.key!r}")
        )
    seen: set[int] = set()
    for playlist in playlists:
        issues = playlist_errors(playlist, key, seen)
        if issues:
            result.errors.extend(issues)
            result.rejected.append(
                Rejection(
                    pid=issues[0].pid,
                    reason="; ".join(issue.describe() for issue in issues),
                    raw_json=orjson.dumps(playlist).decode("utf-8"),
                )
            )
            continue
        result.accepted.append(playlist)
        if with_warnings:
            result.warnings.extend(playlist_warnings(playlist))
    return result


def validate_bytes(
    data: bytes, source: str, key: SliceKey | None = None, with_warnings: bool = True
) -> SliceValidation:
    """Parse and validate one slice file's bytes. Raises `SliceFormatError` if unparseable."""
    if key is None:
        key = SliceKey.from_file_name(source)
    document = parse_document(data, source)
    return validate_document(document, source, key, with_warnings)


__all__ = [
    "Issue",
    "Rejection",
    "SliceFormatError",
    "SliceValidation",
    "playlist_errors",
    "playlist_warnings",
    "validate_bytes",
    "validate_document",
]
