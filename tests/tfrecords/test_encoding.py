"""The column-wise encoder against TensorFlow's own serializer (same message, same size; map
entries come in another order) and its framing against tf.io.TFRecordWriter, byte for byte
(edge values: big and negative ids, empty lists, unicode)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import create_tables  # noqa: E402

from twotower_assets.pipelines.example_encoding import (  # noqa: E402
    encode_examples,
    frame_records,
    varint_sizes,
)
from twotower_assets.pipelines.feature_spec import TRAINING_FEATURES  # noqa: E402


def _tf_example(row: dict) -> bytes:
    import tensorflow as tf

    feature = {}
    for spec in TRAINING_FEATURES:
        value = row[spec.name]
        values = value if isinstance(value, list) else [value]
        if spec.dtype == "string":
            feature[spec.name] = tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[v.encode() for v in values])
            )
        elif spec.dtype == "float":
            feature[spec.name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feature[spec.name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(deterministic=True)


def _pairs() -> pa.Table:
    connection = duckdb.connect()
    create_tables(connection, pairs=300, catalogue=41, modulus=10)
    columns = ", ".join(f.name for f in TRAINING_FEATURES)
    table = connection.sql(f"SELECT {columns} FROM training_pairs").to_arrow_table()
    # Ids across every varint width, and negative (ten bytes in protobuf).
    pids = [0, 1, 127, 128, 16_383, 16_384, 2**35, 2**62, -1, -(2**40)]
    pid = np.array([pids[i % len(pids)] for i in range(table.num_rows)], dtype=np.int64)
    table = table.set_column(table.schema.get_field_index("pid"), "pid", pa.array(pid))
    # Some empty histories (a playlist's first track has none).
    history = table.column("track_uri_pl").to_pylist()
    history[::7] = [[] for _ in history[::7]]
    return table.set_column(
        table.schema.get_field_index("track_uri_pl"), "track_uri_pl", pa.array(history)
    )


@pytest.mark.slow  # importing TensorFlow alone takes 10-20 s on the shared box
def test_encoder_matches_tensorflow() -> None:
    import tensorflow as tf

    table = _pairs()
    ours = encode_examples(table, TRAINING_FEATURES).to_pylist()
    theirs = [_tf_example(row) for row in table.to_pylist()]
    assert len(ours) == len(theirs) == 300
    # Fixed-size entries are grouped first, so compare messages (map order is free) and sizes.
    mismatched = [
        i
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
        if len(a) != len(b) or tf.train.Example.FromString(a) != tf.train.Example.FromString(b)
    ]
    assert not mismatched, f"rows {mismatched[:5]} differ (pid {table['pid'][mismatched[0]]})"


def test_framing_matches_tfrecord_writer(tmp_path: Path) -> None:
    import tensorflow as tf

    records = encode_examples(_pairs(), TRAINING_FEATURES)
    path = tmp_path / "reference.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records.to_pylist():
            writer.write(record)
    assert bytes(frame_records(records)) == path.read_bytes()


def test_varint_sizes_at_every_boundary() -> None:
    edges = [0, 127, 128, 2**14 - 1, 2**14, 2**49 - 1, 2**49, 2**63 - 1, 2**63, 2**64 - 1]
    expected = [1, 1, 2, 2, 3, 7, 8, 9, 10, 10]
    assert varint_sizes(np.array(edges, dtype=np.uint64)).tolist() == expected
