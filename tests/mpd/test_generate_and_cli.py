"""Generator layout, determinism, realism bounds, and the `twotower mpd` commands."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from twotower_assets.cli import main
from twotower_assets.mpd.generate import generate_mpd
from twotower_assets.mpd.stats import compute_statistics


def test_layout_is_the_mpd_layout(small_mpd: Path) -> None:
    names = sorted(p.name for p in small_mpd.iterdir())
    assert names == [
        "md5sums",
        "mpd.slice.0-999.json",
        "mpd.slice.1000-1999.json",
        "mpd.slice.2000-2999.json",  # 2,500 playlists: the last file holds 500, key kept whole
    ]
    last = orjson.loads((small_mpd / "mpd.slice.2000-2999.json").read_bytes())
    assert last["info"]["slice"] == "2000-2999"
    assert [p["pid"] for p in last["playlists"]] == list(range(2000, 2500))
    track = last["playlists"][0]["tracks"][0]
    assert track["track_uri"].startswith("spotify:track:") and len(track["track_uri"]) == 36
    assert last["playlists"][0]["collaborative"] in ("true", "false")
    for line in (small_mpd / "md5sums").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.md5((small_mpd / name).read_bytes()).hexdigest() == digest


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    generate_mpd(tmp_path / "a", 1200, seed=3, workers=1)
    generate_mpd(tmp_path / "b", 1200, seed=3, workers=2)  # worker count must not matter
    generate_mpd(tmp_path / "c", 1200, seed=4, workers=1)
    for name in ("mpd.slice.0-999.json", "mpd.slice.1000-1999.json", "md5sums"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "md5sums").read_text() != (tmp_path / "c" / "md5sums").read_text()


def test_check_accepts_generated_data(small_mpd: Path) -> None:
    result = CliRunner().invoke(main, ["mpd", "check", str(small_mpd), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "3 files, 2500 playlists, 2500 valid, 0 rejected, 0 errors" in result.output
    assert "md5 checked for 3 files" in result.output


def test_check_fails_naming_file_pid_and_field(small_mpd: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    document = orjson.loads((small_mpd / "mpd.slice.0-999.json").read_bytes())
    document["playlists"][7]["tracks"][2]["pos"] = 9
    (broken / "mpd.slice.0-999.json").write_bytes(orjson.dumps(document))
    (broken / "mpd.slice.1000-1999.json").write_bytes(b'{"info": {}, "playlists": [')
    (broken / "md5sums").write_text("0" * 32 + "  mpd.slice.0-999.json\n")
    result = CliRunner().invoke(main, ["mpd", "check", str(broken), "--workers", "1"])
    assert result.exit_code == 1
    assert "ERROR mpd.slice.0-999.json: pid 7: tracks[2].pos: gap in pos: expected 2, found 9" in (
        result.output
    )
    assert "ERROR mpd.slice.1000-1999.json: pid -: file: mpd.slice.1000-1999.json at byte" in (
        result.output
    )
    assert "ERROR mpd.slice.0-999.json: pid -: md5sums: expected 0000" in result.output


def test_show_prints_ids_and_ranges(small_mpd: Path) -> None:
    result = CliRunner().invoke(main, ["mpd", "show", str(small_mpd), "5", "1998-2001"])
    assert result.exit_code == 0, result.output
    shown = [line for line in result.output.splitlines() if line.startswith("pid: ")]
    assert [line.split()[1] for line in shown] == ["5", "1998", "1999", "2000", "2001"]
    missing = CliRunner().invoke(main, ["mpd", "show", str(small_mpd), "2600"])
    assert missing.exit_code == 1


def test_stats_command_counts_everything(small_mpd: Path) -> None:
    result = CliRunner().invoke(main, ["mpd", "stats", str(small_mpd), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "number of playlists 2500" in result.output
    stats = compute_statistics(str(small_mpd), workers=1)
    assert f"number of tracks {stats.tracks}" in result.output
    assert stats.tracks == sum(n * count for n, count in stats.lengths.items())


@pytest.mark.slow
def test_twenty_thousand_playlists_land_near_the_scaled_mpd(tmp_path: Path) -> None:
    generate_mpd(tmp_path / "mpd", 20_000, seed=0)
    stats = compute_statistics(str(tmp_path / "mpd"))
    rows = stats.tracks
    assert 60 <= stats.average_length <= 72  # MPD: 66.35
    assert 0.025 <= stats.unique_tracks / rows <= 0.045  # MPD: 0.034
    assert 0.25 <= stats.unique_albums / stats.unique_tracks <= 0.4  # MPD: 0.32
    assert 0.09 <= stats.unique_artists / stats.unique_tracks <= 0.18  # MPD: 0.13
    assert 0.03 <= stats.top_track_playlist_share <= 0.07  # MPD: about 0.046
    assert 0.012 <= stats.descriptions / stats.playlists <= 0.028  # MPD: 0.019
    # Long tail: a large share of the unique tracks is in exactly one playlist (MPD: ~45-50%),
    # while the median track is still far rarer than the head.
    per_track = sorted(stats.playlists_with_track.values())
    once = sum(1 for count in per_track if count == 1)
    assert 0.35 <= once / len(per_track) <= 0.6
    assert per_track[len(per_track) // 2] * 50 < per_track[-1]
    # Titles: MPD 0.093 unique titles per playlist at 1M; a 20k sample, like a 20k subsample
    # of the MPD, has more unique titles per playlist, and far fewer normalized ones.
    assert 0.08 <= len(stats.titles) / stats.playlists <= 0.25
    assert 0.015 <= len(stats.normalized_titles) / stats.playlists <= 0.08
    # The head is the MPD's: its top titles lead, none above ~1.5%, and an invented title
    # never dominates (the old generator had "road trip" at 4.8%).
    top = stats.normalized_titles.most_common(30)
    assert {"country", "chill", "rap", "workout", "christmas", "oldies"} <= {t for t, _ in top}
    assert top[0][1] / stats.playlists <= 0.015
    assert top[0][0] in {"country", "chill", "rap", "workout", "oldies", "christmas"}
    lengths = sorted(n for n, count in stats.lengths.items() for _ in range(count))
    assert lengths[0] >= 5 and lengths[len(lengths) // 2] < stats.average_length  # skewed
