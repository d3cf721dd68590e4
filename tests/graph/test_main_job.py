"""The main job through the CLI, as CI and a new user run it: the whole graph on a small sample.

`twotower run` generates nothing here: the tests write the sample themselves, inject bad
playlists (mistyped field, num_tracks mismatch, pos gap, duplicate pid, pid outside the range)
and check that the bad part is reported with its reason, the rest completes, every check passes
and the counts reconcile from the warehouse, the shards and the embeddings. A second test breaks
one slice file: that partition fails with the file named, the others are built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from resources import DuckDBWarehouse

pytestmark = pytest.mark.slow

PLAYLISTS = 2000


def _twotower(args: list[str], home: Path, mpd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TWOTOWER_HOME": str(home),
        "TWOTOWER_MPD_DIR": str(mpd),
        "TF_USE_LEGACY_KERAS": "1",
    }
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [str(Path(sys.executable).parent / "twotower"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3000,
    )


def _inject_bad_playlists(slice_file: Path) -> dict[int, str]:
    """Break five playlists of a slice in five ways; returns pid -> the field named."""
    document = json.loads(slice_file.read_text(encoding="utf-8"))
    playlists = document["playlists"]
    broken: dict[int, str] = {}
    playlists[3]["num_followers"] = "many"  # mistyped
    broken[playlists[3]["pid"]] = "num_followers"
    playlists[10]["num_tracks"] += 1  # disagrees with the track list
    broken[playlists[10]["pid"]] = "num_tracks"
    playlists[20]["tracks"][2]["pos"] = 7  # a gap in pos
    broken[playlists[20]["pid"]] = "pos"
    playlists[30]["pid"] = 999_999  # outside the file's range
    broken[999_999] = "pid"
    duplicate = dict(playlists[40])
    playlists.append(duplicate)  # the same pid twice
    slice_file.write_text(json.dumps(document), encoding="utf-8")
    return broken


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from twotower_assets.mpd.generate import generate_mpd

    mpd = tmp_path_factory.mktemp("mpd")
    generate_mpd(mpd, playlists=PLAYLISTS, seed=5)
    return mpd


def test_main_job_builds_everything_reports_bad_playlists_and_reconciles(
    sample: Path, tmp_path: Path
) -> None:
    broken = _inject_bad_playlists(sample / "mpd.slice.0-999.json")
    home = tmp_path / "home"
    completed = _twotower(["run"], home, sample)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]

    # The gate ran over every check; the rejected-count warning is reported, nothing failed.
    assert "0 failed or not run" in output
    assert "WARN" in output and "playlists:rejected_playlists_count" in output
    for model in ("two_tower", "popularity", "cooccurrence"):
        assert any(line.startswith(model) for line in output.splitlines()), model

    warehouse = DuckDBWarehouse(database=str(home / "warehouse.duckdb"))
    rejected = warehouse.query("SELECT pid, reason FROM rejected_playlists").to_pylist()
    reasons = {row["pid"]: row["reason"] for row in rejected}
    for pid, field in broken.items():
        assert field in reasons.get(pid, ""), f"pid {pid}: {reasons.get(pid)!r} lacks {field}"
    duplicates = [r for r in rejected if "duplicate" in r["reason"]]
    assert len(duplicates) == 1
    # Nothing is lost: accepted + rejected is what the files held (one extra, the duplicate).
    accepted = warehouse.row_count("playlists")
    assert accepted + len(rejected) == PLAYLISTS + 1
    assert accepted == PLAYLISTS - 4

    # Pairs: one per track at pos >= 1 of an accepted playlist, recounted from the tracks.
    expected_pairs = warehouse.scalar("SELECT COUNT(*) FROM playlist_tracks WHERE pos >= 1")
    assert warehouse.row_count("training_pairs") == expected_pairs
    # No rejected playlist reached the pairs (the duplicate's first copy was accepted).
    leaked = warehouse.scalar(
        "SELECT COUNT(*) FROM training_pairs WHERE pid IN "
        "(SELECT pid FROM rejected_playlists WHERE reason NOT LIKE '%duplicate%')"
    )
    assert leaked == 0

    # Shards hold exactly the table's rows, per split.
    for folder, split in (("train", "train"), ("valid", "valid")):
        manifest = json.loads((home / "tfrecords" / folder / "manifest.json").read_text())
        assert manifest["records"] == warehouse.scalar(
            f"SELECT COUNT(*) FROM training_pairs WHERE split = '{split}'"
        ), folder

    # One embedding per catalogue track.
    embeddings = pq.read_table(home / "embeddings" / "candidate_embeddings.parquet")
    assert embeddings.num_rows == warehouse.row_count("tracks")

    # The evaluation tables follow the contract.
    models = warehouse.query("SELECT DISTINCT model FROM retrieval_metrics").column(0)
    assert set(models.to_pylist()) >= {"two_tower", "popularity", "cooccurrence"}
    assert warehouse.scalar("SELECT MIN(rank) FROM recommendations") == 1

    # `twotower checks` alone reads the same results from the instance.
    again = _twotower(["checks"], home, sample)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_broken_slice_fails_alone_and_the_rest_is_built(tmp_path: Path) -> None:
    from twotower_assets.mpd.generate import generate_mpd

    mpd = tmp_path / "mpd"
    generate_mpd(mpd, playlists=3000, seed=9)
    broken = mpd / "mpd.slice.1000-1999.json"
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])  # truncated
    home = tmp_path / "home"
    env = {**os.environ, "TWOTOWER_HOME": str(home), "TWOTOWER_MPD_DIR": str(mpd)}
    env["DAGSTER_HOME"] = str(home / "dagster")
    (home / "dagster").mkdir(parents=True)
    dagster = str(Path(sys.executable).parent / "dagster")
    completed = subprocess.run(
        [
            dagster,
            "asset",
            "materialize",
            "-m",
            "twotower_assets.definitions",
            "--select",
            "playlists",
            "--partition-range",
            "0-999...2000-2999",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "mpd.slice.1000-1999.json" in output
    assert "line" in output or "byte" in output  # the position in the file

    warehouse = DuckDBWarehouse(database=str(home / "warehouse.duckdb"))
    slices = warehouse.query("SELECT DISTINCT slice FROM playlists ORDER BY 1").column(0)
    assert slices.to_pylist() == ["0-999", "2000-2999"]

    # The warehouse is built from the slices that ingested.
    completed = subprocess.run(
        [
            dagster,
            "asset",
            "materialize",
            "-m",
            "twotower_assets.definitions",
            "--select",
            "key:tracks or key:training_pairs",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    assert warehouse.row_count("training_pairs") == warehouse.scalar(
        "SELECT COUNT(*) FROM playlist_tracks WHERE pos >= 1"
    )
