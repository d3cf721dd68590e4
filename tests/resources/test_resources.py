"""Resources: profiles, the DuckDB warehouse (including concurrent writers) and atomic storage."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pyarrow as pa
import pytest

from resources import ArtifactStore, DuckDBWarehouse, build_resources
from resources.settings import ConfigurationError


def test_local_profile_is_zero_configuration(twotower_env: Path) -> None:
    resources = build_resources()
    assert resources["warehouse"].database == str(twotower_env / "warehouse.duckdb")
    assert resources["artifacts"].root == str(twotower_env)
    assert resources["mpd"].directory == os.environ["TWOTOWER_MPD_DIR"]
    assert resources["beam"].runner_name == "FnApiRunner"  # the DirectRunner, pinned


def test_default_home_is_dot_twotower_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWOTOWER_HOME", raising=False)
    monkeypatch.delenv("TWOTOWER_MPD_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    resources = build_resources("local")
    assert resources["artifacts"].root == str(tmp_path / ".twotower")
    assert resources["mpd"].directory == str(tmp_path / ".twotower" / "mpd_sample")


@pytest.mark.parametrize(
    "missing", ["TWOTOWER_GCP_PROJECT", "TWOTOWER_BQ_DATASET", "TWOTOWER_GCS_ROOT"]
)
def test_gcp_profile_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("TWOTOWER_GCP_PROJECT", "proj")
    monkeypatch.setenv("TWOTOWER_BQ_DATASET", "mpd")
    monkeypatch.setenv("TWOTOWER_GCS_ROOT", "gs://bucket/twotower")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigurationError, match=missing):
        build_resources("gcp")


def test_gcp_profile_builds_cloud_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOTOWER_GCP_PROJECT", "proj")
    monkeypatch.setenv("TWOTOWER_BQ_DATASET", "mpd")
    monkeypatch.setenv("TWOTOWER_GCS_ROOT", "gs://bucket/twotower/")
    monkeypatch.delenv("TWOTOWER_MPD_DIR", raising=False)
    resources = build_resources("gcp")
    warehouse = resources["warehouse"]
    assert warehouse.dialect == "bigquery"
    assert warehouse.table_ref("tracks") == "`proj.mpd.tracks`"
    assert resources["artifacts"].root == "gs://bucket/twotower"
    assert resources["mpd"].directory == "gs://bucket/twotower/mpd"
    assert resources["beam"].runner_name == "DataflowRunner"


def test_unknown_profile_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOTOWER_PROFILE", "azure")
    with pytest.raises(ConfigurationError, match="azure"):
        build_resources()


def _rows(slice_key: str, count: int) -> pa.Table:
    start = int(slice_key.split("-")[0])
    return pa.table(
        {
            "slice": [slice_key] * count,
            "pid": list(range(start, start + count)),
            "name": [f"p{i}" for i in range(count)],
        }
    )


def test_replace_rows_replaces_a_slice_and_never_duplicates(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    warehouse.replace_rows("playlists", "slice", "0-999", _rows("0-999", 5))
    warehouse.replace_rows("playlists", "slice", "1000-1999", _rows("1000-1999", 3))
    warehouse.replace_rows("playlists", "slice", "0-999", _rows("0-999", 4))
    assert warehouse.row_count("playlists") == 7
    counts = warehouse.query("SELECT slice, COUNT(*) n FROM playlists GROUP BY 1 ORDER BY 1")
    assert counts.to_pylist() == [{"slice": "0-999", "n": 4}, {"slice": "1000-1999", "n": 3}]
    assert warehouse.table_schema("playlists")[0] == ("slice", "VARCHAR")


def _write_slices(database: str, first_slice: int, slices: int) -> None:
    warehouse = DuckDBWarehouse(database=database, lock_timeout_seconds=120)
    for index in range(first_slice, first_slice + slices):
        key = f"{index * 1000}-{index * 1000 + 999}"
        warehouse.replace_rows("playlists", "slice", key, _rows(key, 50))


def test_concurrent_processes_wait_for_the_duckdb_lock_instead_of_failing(tmp_path: Path) -> None:
    database = str(tmp_path / "w.duckdb")
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_slices, args=(database, first, 10)) for first in (0, 10, 20)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    warehouse = DuckDBWarehouse(database=database)
    assert warehouse.row_count("playlists") == 30 * 50
    assert warehouse.scalar("SELECT COUNT(DISTINCT slice) FROM playlists") == 30


def test_staging_swaps_in_only_a_complete_folder(tmp_path: Path) -> None:
    store = ArtifactStore(root=str(tmp_path))
    with store.staging("tfrecords", "train") as folder:
        Path(folder, "part-0").write_text("first")
    assert Path(store.path("tfrecords", "train", "part-0")).read_text() == "first"

    with pytest.raises(RuntimeError), store.staging("tfrecords", "train") as folder:
        Path(folder, "part-0").write_text("half written")
        raise RuntimeError("killed mid-write")
    assert Path(store.path("tfrecords", "train", "part-0")).read_text() == "first"
    assert sorted(p.name for p in (tmp_path / "tfrecords").iterdir()) == ["train"]

    with store.staging("tfrecords", "train") as folder:
        Path(folder, "part-1").write_text("second")
    assert sorted(p.name for p in (tmp_path / "tfrecords" / "train").iterdir()) == ["part-1"]
