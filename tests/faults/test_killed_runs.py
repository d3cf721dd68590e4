"""A run killed while writing TFRecord shards leaves the previous shards complete and readable,
and the next run succeeds. The kill is real: SIGKILL to the `dagster asset materialize`
process group the moment its staging folder appears.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twotower_assets.operations import dagster_home

pytestmark = pytest.mark.slow

TRAIN = "tfrecords/train"


def _materialize(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "twotower_assets.definitions",
            "--select",
            "train_tfrecords",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _records_in(folder: Path) -> int:
    """Count the records of every shard by reading them back with TensorFlow."""
    import tensorflow as tf

    files = sorted(str(p) for p in folder.glob("part-*.tfrecord*"))
    assert files, f"no shard in {folder}"
    return sum(1 for _ in tf.data.TFRecordDataset(files))


def test_killed_shard_writer_leaves_previous_shards_and_next_run_succeeds(tmp_path: Path) -> None:
    import duckdb

    sys.path.insert(0, str(Path(__file__).parent.parent / "tfrecords"))
    from synthetic import create_tables

    home = tmp_path / "home"
    home.mkdir()
    with duckdb.connect(str(home / "warehouse.duckdb")) as connection:
        create_tables(connection, pairs=60_000, catalogue=997, modulus=10)
        (train_rows,) = connection.execute(
            "SELECT COUNT(*) FROM training_pairs WHERE split = 'train'"
        ).fetchone()
    env = {
        **os.environ,
        "TWOTOWER_HOME": str(home),
        "TWOTOWER_MPD_DIR": str(tmp_path / "mpd"),
        "DAGSTER_HOME": str(dagster_home(home)),
        "TF_USE_LEGACY_KERAS": "1",
    }
    first = _materialize(env)
    output = first.communicate(timeout=900)[0]
    assert first.returncode == 0, output[-3000:]
    manifest = json.loads((home / TRAIN / "manifest.json").read_text())
    before = {p.name: p.stat().st_size for p in (home / TRAIN).iterdir()}

    # Second run: kill it as soon as it is writing into its staging folder.
    second = _materialize(env)
    deadline = time.monotonic() + 600
    while not list((home / "tfrecords").glob("train.tmp-*")):
        assert second.poll() is None, "the run ended before it started writing"
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    os.killpg(second.pid, signal.SIGKILL)
    second.wait(timeout=60)
    assert second.returncode == -signal.SIGKILL

    # The previous shards are untouched, complete and readable.
    assert {p.name: p.stat().st_size for p in (home / TRAIN).iterdir()} == before
    assert _records_in(home / TRAIN) == manifest["records"] == train_rows

    # The next run succeeds and replaces them; the killed run's leftovers do not get in the way.
    third = _materialize(env)
    output = third.communicate(timeout=900)[0]
    assert third.returncode == 0, output[-3000:]
    assert _records_in(home / TRAIN) == train_rows
    assert not list((home / "tfrecords").glob("train.tmp-*")), "the killed run's folder remains"
