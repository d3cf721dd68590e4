"""The TFRecord assets, the vocabulary asset and their checks on a real DuckDB file (synthetic
rows), the encoder's round trip and atomic replacement (the Dataflow job: test_dataflow.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import create_tables  # noqa: E402

from resources.beam import DirectBeamRunner  # noqa: E402
from twotower_assets import features, tfrecords  # noqa: E402
from twotower_assets.pipelines.example_encoding import EncodingError, encode_examples  # noqa: E402
from twotower_assets.pipelines.feature_spec import TRAINING_FEATURES  # noqa: E402
from twotower_assets.pipelines.tfrecord_pipeline import read_examples  # noqa: E402

ASSETS = [
    tfrecords.train_tfrecords,
    tfrecords.valid_tfrecords,
    tfrecords.candidate_tfrecords,
    features.vocabulary,
]
CHECKS = [
    tfrecords.train_tfrecords_check,
    tfrecords.valid_tfrecords_check,
    tfrecords.candidate_tfrecords_check,
    features.vocabulary_check,
]


@pytest.fixture
def resources(local_resources: dict) -> dict:
    with local_resources["warehouse"].connect() as connection:
        create_tables(connection, pairs=700, catalogue=97, modulus=10)
    # One worker in-process keeps the test fast; the multi-process path runs in the benchmark.
    return {**local_resources, "beam": DirectBeamRunner(num_workers=1)}


def _rows(warehouse, sql: str) -> list[dict]:  # noqa: ANN001
    return warehouse.query(sql).to_pylist()


@pytest.mark.slow
def test_assets_materialize_and_round_trip(resources: dict, twotower_env: Path) -> None:
    run_config = dg.RunConfig(
        {"train_tfrecords": tfrecords.TFRecordConfig(target_shard_mb=0.05, compression="gzip")}
    )
    result = dg.materialize(ASSETS + CHECKS, resources=resources, run_config=run_config)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 4 and all(e.passed for e in evaluations), evaluations

    warehouse = resources["warehouse"]
    train_rows = warehouse.scalar("SELECT COUNT(*) FROM training_pairs WHERE split = 'train'")
    metadata = result.asset_materializations_for_node("train_tfrecords")[0].metadata
    assert metadata["records"].value == train_rows
    assert metadata["compression"].value == "gzip"
    assert metadata["shards"].value > 1, metadata  # 0.05 MB target forces several shards
    manifest = json.loads((twotower_env / "tfrecords/train/manifest.json").read_text())
    assert sum(s["records"] for s in manifest["shards"]) == train_rows
    names = sorted(p.name for p in (twotower_env / "tfrecords/train").iterdir())
    count = len(manifest["shards"])
    assert names == ["manifest.json"] + [
        f"part-{i:05d}-of-{count:05d}.tfrecord.gz" for i in range(count)
    ]

    # Round trip: every warehouse row comes back feature for feature (pid identifies the row).
    expected = {
        (r["pid"], r["pos"]): r
        for r in _rows(warehouse, "SELECT * FROM training_pairs WHERE split = 'valid'")
    }
    seen = 0
    for batch in read_examples(str(twotower_env / "tfrecords/valid"), TRAINING_FEATURES, 64):
        for i in range(int(batch["pid"].shape[0])):
            row = expected[(int(batch["pid"][i]), int(batch["pos"][i]))]
            for feature in TRAINING_FEATURES:
                value = batch[feature.name][i].numpy()
                if feature.dtype == "string":
                    decoded = (
                        [v.decode() for v in value]
                        if feature.shape == "var_len"
                        else value.decode()
                    )
                    assert decoded == row[feature.name], feature.name
                else:
                    np.testing.assert_allclose(value, row[feature.name], rtol=1e-6)
            seen += 1
    assert seen == len(expected)

    document = json.loads((twotower_env / "vocabulary/vocabulary.json").read_text())
    assert document["train_pairs"] == train_rows
    track_uris = (twotower_env / "vocabulary/track_uri.txt").read_text().splitlines()
    assert len(track_uris) == document["vocabularies"]["track_uri"]["size"] > 0
    track_names = (twotower_env / "vocabulary/track_name.txt").read_text().split("\n")
    assert "two lines" in track_names  # the newline was replaced, not split over two lines

    # Atomicity: a failing re-run leaves the previous shards complete.
    before = sorted((twotower_env / "tfrecords/train").iterdir())
    with warehouse.connect() as connection:
        connection.execute("UPDATE training_pairs SET name = NULL WHERE pid = 13")
    failed = dg.materialize(
        ASSETS[:1], resources=resources, run_config=run_config, raise_on_error=False
    )
    assert not failed.success
    assert sorted((twotower_env / "tfrecords/train").iterdir()) == before
    assert not list(twotower_env.glob("tfrecords/train.tmp-*"))


def test_encoder_names_the_culprit() -> None:
    columns = {
        f.name: pa.array([[]] if f.shape == "var_len" else [None]) for f in TRAINING_FEATURES
    }
    columns["pid"] = pa.array([4242])
    columns["pos"] = pa.array([3])
    with pytest.raises(EncodingError, match=r"'album_name_can'.*pid 4242"):
        encode_examples(pa.table(columns).to_batches()[0], TRAINING_FEATURES)
