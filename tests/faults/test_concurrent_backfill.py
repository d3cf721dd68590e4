"""A backfill of many slice partitions as several runs at once succeeds on DuckDB.

Four `dagster asset materialize` processes, one partition each, start together against one
DuckDB file and one instance: DuckDB's single-writer lock must make them wait, not fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from twotower_assets.operations import dagster_home

pytestmark = pytest.mark.slow

SLICES = ["0-999", "1000-1999", "2000-2999", "3000-3999"]


def test_parallel_partition_runs_all_succeed_and_reconcile(tmp_path: Path) -> None:
    from twotower_assets.mpd.generate import generate_mpd

    home, mpd = tmp_path / "home", tmp_path / "mpd"
    generate_mpd(str(mpd), playlists=1000 * len(SLICES), seed=11)
    env = {
        **os.environ,
        "TWOTOWER_HOME": str(home),
        "TWOTOWER_MPD_DIR": str(mpd),
        "DAGSTER_HOME": str(dagster_home(home)),
    }
    dagster = str(Path(sys.executable).parent / "dagster")
    runs = [
        subprocess.Popen(
            [
                dagster,
                "asset",
                "materialize",
                "-m",
                "twotower_assets.definitions",
                "--select",
                "playlists",
                "--partition",
                key,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for key in SLICES
    ]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for key, run, output in zip(SLICES, runs, outputs, strict=True):
        assert run.returncode == 0, f"partition {key} failed:\n{output[-3000:]}"

    from resources import DuckDBWarehouse

    warehouse = DuckDBWarehouse(database=str(home / "warehouse.duckdb"))
    rows = warehouse.query("SELECT slice, COUNT(*) AS n FROM playlists GROUP BY 1").to_pylist()
    per_slice = {row["slice"]: row["n"] for row in rows}
    rejected = warehouse.row_count("rejected_playlists")
    assert set(per_slice) == set(SLICES)
    assert sum(per_slice.values()) + rejected == 1000 * len(SLICES)
    assert warehouse.scalar("SELECT COUNT(*) - COUNT(DISTINCT pid) FROM playlists") == 0
