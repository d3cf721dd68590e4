"""The one validator: each bad input gives its precise error or rejection reason."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from twotower_assets.mpd.read import SliceFormatError, read_slice
from twotower_assets.mpd.validate import validate_bytes, validate_document

SOURCE = "mpd.slice.0-999.json"


def _track(pos: int, artist: int) -> dict:
    return {
        "pos": pos,
        "artist_name": f"Artist {artist}",
        "track_uri": f"spotify:track:{pos:022d}",
        "artist_uri": f"spotify:artist:{artist:022d}",
        "track_name": f"Song {pos}",
        "album_uri": f"spotify:album:{pos % 3:022d}",
        "duration_ms": 200000,
        "album_name": f"Album {pos % 3}",
    }


def _playlist(pid: int, tracks: int = 6) -> dict:
    items = [_track(pos, pos % 4) for pos in range(tracks)]
    return {
        "name": "chill",
        "collaborative": "false",
        "pid": pid,
        "modified_at": 1493424000,
        "num_tracks": tracks,
        "num_albums": 3,
        "num_followers": 1,
        "tracks": items,
        "num_edits": 2,
        "duration_ms": 200000 * tracks,
        "num_artists": 4,
    }


def _document(*playlists: dict) -> dict:
    return {"info": {"slice": "0-999", "version": "v1"}, "playlists": list(playlists)}


def _only_reason(playlist: dict, *others: dict) -> str:
    result = validate_document(_document(*others, playlist), SOURCE, None)
    assert len(result.rejected) == 1, result.rejected
    return result.rejected[0].reason


def test_valid_playlist_is_accepted_without_warnings() -> None:
    result = validate_bytes(orjson.dumps(_document(_playlist(1), _playlist(2))), SOURCE)
    assert len(result.accepted) == 2 and not result.rejected and not result.warnings


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.pop("name"), "pid 3: name: missing"),
        (lambda p: p.update(num_followers="1"), "pid 3: num_followers: expected int, found str"),
        (lambda p: p.update(num_edits=True), "pid 3: num_edits: expected int, found bool"),
        (lambda p: p.update(collaborative=False), "pid 3: collaborative: expected str"),
        (lambda p: p.update(collaborative="yes"), "pid 3: collaborative: expected 'true' or"),
        (lambda p: p["tracks"][2].pop("track_uri"), "pid 3: tracks[2].track_uri: missing"),
        (
            lambda p: p["tracks"][1].update(duration_ms="200"),
            "pid 3: tracks[1].duration_ms: expected int, found str",
        ),
        (
            lambda p: p["tracks"][0].update(album_uri="local:album:x"),
            "pid 3: tracks[0].album_uri: expected 'spotify:album:...'",
        ),
        (lambda p: p.update(num_tracks=7), "pid 3: num_tracks: says 7 but the track list holds 6"),
        (
            lambda p: p["tracks"][3].update(pos=4),
            "pid 3: tracks[3].pos: gap in pos: expected 3, found 4",
        ),
        (
            lambda p: p["tracks"][3].update(pos=1),
            "pid 3: tracks[3].pos: repeat in pos: expected 3, found 1",
        ),
        (lambda p: p.update(description=5), "pid 3: description: expected str when present"),
    ],
)
def test_format_faults_reject_with_reason_naming_pid_and_field(mutate, expected: str) -> None:
    playlist = _playlist(3)
    mutate(playlist)
    assert _only_reason(playlist, _playlist(1)).startswith(expected)


def test_missing_pid_is_rejected_with_unknown_pid() -> None:
    playlist = _playlist(3)
    del playlist["pid"]
    result = validate_document(_document(playlist), SOURCE, None)
    assert result.rejected[0].pid is None
    assert "pid ?: pid: missing" in result.rejected[0].reason


def test_duplicate_pid_rejects_the_second_copy() -> None:
    reason = _only_reason(_playlist(4), _playlist(4))
    assert reason == "pid 4: pid: duplicate pid within the file"


def test_pid_outside_the_file_range_is_rejected() -> None:
    from twotower_assets.mpd.read import SliceKey

    result = validate_document(_document(_playlist(1500)), SOURCE, SliceKey.parse("0-999"))
    assert result.rejected[0].reason == "pid 1500: pid: outside the file's range 0-999"
    assert orjson.loads(result.rejected[0].raw_json)["pid"] == 1500


def test_sampling_constraints_warn_but_accept() -> None:
    short = _playlist(5, tracks=3)  # < 5 tracks and only 3 artists: a warning, not an error
    short["num_followers"] = 0
    result = validate_document(_document(short), SOURCE, None)
    assert len(result.accepted) == 1 and not result.rejected
    fields = {issue.field for issue in result.warnings}
    assert {"num_tracks", "num_followers"} <= fields


@pytest.mark.parametrize(
    ("content", "message", "position"),
    [
        (b"", "file is empty (0 bytes)", "byte 0"),
        (b"  \n\n ", "file holds only whitespace", "byte 0"),
        (b'{"info": {}, "playlists": [{"pid": 1, "name": "ab', "truncated", "line 1"),
        (b'{"info": {},\n "playlists": [1,, 2]}', "invalid JSON", "line 2, column 18"),
        (b'{"info": {}, "playlists": [{"name": "caf\xe9"}]}', "not valid UTF-8", "byte 40"),
        (b"[1, 2]", "top level must be an object", None),
        (b'{"info": {}, "playlists": 3}', "field 'playlists': expected a list, found int", None),
    ],
)
def test_unusable_files_raise_naming_file_and_position(
    tmp_path: Path, content: bytes, message: str, position: str | None
) -> None:
    path = tmp_path / SOURCE
    path.write_bytes(content)
    with pytest.raises(SliceFormatError) as raised:
        read_slice(str(path))
    text = str(raised.value)
    assert str(path) in text and message in text
    if position:
        assert position in text


def test_non_ascii_prefix_reports_byte_offset(tmp_path: Path) -> None:
    # 'é' is 2 bytes: the reported offset must count bytes, not characters.
    content = '{"info": {"x": "é"}, "playlists": [1 2]}'.encode()
    path = tmp_path / SOURCE
    path.write_bytes(content)
    with pytest.raises(SliceFormatError, match=f"byte {content.index(b'2]')}"):
        read_slice(str(path))


def test_generated_playlists_survive_a_format_round_trip(small_mpd: Path) -> None:
    document = read_slice(str(small_mpd / "mpd.slice.1000-1999.json"))
    again = orjson.loads(orjson.dumps(document))
    result = validate_document(copy.deepcopy(again), "mpd.slice.1000-1999.json", None)
    assert again == document
    assert len(result.accepted) == 1000 and not result.rejected


def test_slice_format_error_survives_the_trip_from_a_worker_process() -> None:
    import pickle

    from twotower_assets.mpd.read import SliceFormatError

    error = SliceFormatError("mpd.slice.0-999.json", "unexpected end of data", "line 3 column 7")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert (copy.source, copy.position) == ("mpd.slice.0-999.json", "line 3 column 7")
