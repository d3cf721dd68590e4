"""The `playlists` ingest asset, materialized in process into a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import orjson
import pyarrow as pa
import pytest

from twotower_assets import ingest
from twotower_assets.mpd.generate import generate_mpd


@pytest.fixture
def sample(twotower_env: Path, local_resources: dict) -> tuple[Path, dict]:
    mpd_dir = Path(local_resources["mpd"].directory)
    generate_mpd(mpd_dir, 2000, seed=11, workers=1)
    # Two format faults in slice 1000-1999: they must land in rejected_playlists.
    path = mpd_dir / "mpd.slice.1000-1999.json"
    document = orjson.loads(path.read_bytes())
    document["playlists"][3]["num_tracks"] += 1
    document["playlists"][5]["pid"] = 7
    path.write_bytes(orjson.dumps(document))
    return twotower_env, local_resources


ASSETS = [
    ingest.playlists,
    ingest.playlists_reconcile_with_files,
    ingest.rejected_playlists_count,
    ingest.no_pid_in_two_slices,
]


def _counts(home: Path) -> dict[str, dict[str, int]]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        return {
            table: dict(
                connection.execute(f"SELECT slice, COUNT(*) FROM {table} GROUP BY slice").fetchall()
            )
            for table in ingest.TABLES
        }


def test_ingest_writes_reconciling_tables_and_is_idempotent(sample) -> None:
    home, resources = sample
    for key in ("0-999", "1000-1999", "1000-1999"):  # the second 1000-1999 re-materializes
        result = dg.materialize(ASSETS, partition_key=key, resources=resources)
        assert result.success
    counts = _counts(home)
    assert counts["playlists"] == {"0-999": 1000, "1000-1999": 998}
    assert counts["rejected_playlists"] == {"1000-1999": 2}
    metadata = result.asset_materializations_for_node("playlists")[0].metadata
    assert metadata["accepted"].value == 998 and metadata["rejected"].value == 2
    assert metadata["tracks"].value == counts["playlist_tracks"]["1000-1999"]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["playlists_reconcile_with_files"].passed
    assert checks["no_pid_in_two_slices"].passed
    assert not checks["rejected_playlists_count"].passed
    assert checks["rejected_playlists_count"].severity == dg.AssetCheckSeverity.WARN
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        reasons = dict(connection.execute("SELECT pid, reason FROM rejected_playlists").fetchall())
        tracks = connection.execute(
            "SELECT COUNT(*) FROM playlist_tracks t JOIN playlists p USING (slice, pid)"
        ).fetchone()[0]
    assert reasons[1003].startswith("pid 1003: num_tracks: says")
    assert reasons[7] == "pid 7: pid: outside the file's range 1000-1999"
    assert tracks == sum(counts["playlist_tracks"].values())


def test_corrupt_slice_fails_its_partition_only(sample) -> None:
    home, resources = sample
    bad = Path(resources["mpd"].directory) / "mpd.slice.0-999.json"
    bad.write_bytes(bad.read_bytes()[:5000])  # truncated mid-file
    failed = dg.materialize(
        ASSETS, partition_key="0-999", resources=resources, raise_on_error=False
    )
    assert not failed.success
    failure = failed.get_step_failure_events()[0].event_specific_data.error
    assert "mpd.slice.0-999.json" in str(failure.message) and "truncated" in str(failure.message)
    assert "byte" in str(failure.message)
    good = dg.materialize(ASSETS, partition_key="1000-1999", resources=resources)
    assert good.success
    assert _counts(home)["playlists"] == {"1000-1999": 998}


def test_pid_in_two_slices_fails_the_blocking_check(sample) -> None:
    _, resources = sample
    dg.materialize(ASSETS, partition_key="0-999", resources=resources)
    # Rows of another slice claiming pid 0 (as a hand-edited warehouse or a bad loader would).
    warehouse = resources["warehouse"]
    stray = warehouse.query("SELECT * FROM playlists WHERE pid = 0")
    stray = stray.set_column(0, "slice", pa.array(["1000-1999"], pa.string()))
    warehouse.replace_rows("playlists", "slice", "1000-1999", stray)
    check = ingest.no_pid_in_two_slices(warehouse=warehouse)
    assert not check.passed
    assert "pid 0 in slices 0-999,1000-1999" in check.description
