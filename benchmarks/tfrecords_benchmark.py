"""Benchmark: training shards for a generated sample of pairs, ours vs a naive Beam pipeline.

Both read the same Parquet export on the same runner (pinned FnApiRunner, one process per core).
Naive = one `tf.train.Example` per element in a DoFn + `WriteToTFRecord`.
Run: TF_USE_LEGACY_KERAS=1 .venv/bin/python benchmarks/tfrecords_benchmark.py [pairs]
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import duckdb
from apache_beam.options.pipeline_options import PipelineOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "tfrecords"))
from synthetic import create_tables  # noqa: E402

from resources.beam import DirectBeamRunner  # noqa: E402
from twotower_assets.pipelines.feature_spec import TRAINING_FEATURES  # noqa: E402
from twotower_assets.pipelines.tfrecord_pipeline import ShardSettings, write_tfrecords  # noqa: E402


class NaiveExampleFn(beam.DoFn):
    def process(self, row: dict):  # noqa: ANN201
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
        yield tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def main(pairs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="tfrecords-bench-"))
    connection = duckdb.connect(str(work / "warehouse.duckdb"))
    create_tables(connection, pairs=pairs, catalogue=50_000, modulus=100)
    parquet = work / "train.parquet"
    columns = ", ".join(f.name for f in TRAINING_FEATURES)
    connection.execute(
        f"COPY (SELECT {columns} FROM training_pairs WHERE split = 'train') TO '{parquet}' "
        "(FORMAT parquet, ROW_GROUP_SIZE 65536)"
    )
    rows = connection.execute(
        "SELECT COUNT(*) FROM training_pairs WHERE split = 'train'"
    ).fetchone()[0]
    connection.close()
    args = DirectBeamRunner().pipeline_args("bench")

    ours = write_tfrecords(
        [str(parquet)], ShardSettings(str(work / "ours"), TRAINING_FEATURES), args
    )
    assert ours.records == rows, (ours.records, rows)

    started = time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(args)) as pipeline:
        (
            pipeline
            | beam.io.ReadFromParquet(str(parquet))
            | beam.ParDo(NaiveExampleFn())
            | beam.io.WriteToTFRecord(str(work / "naive" / "part"), file_name_suffix=".tfrecord")
        )
    naive_seconds = time.perf_counter() - started

    print(f"pairs written: {rows:,} on {os.cpu_count()} cores ({args[1]}, {args[2]})")
    print(
        f"ours : {ours.seconds:7.1f} s  {rows / ours.seconds:10,.0f} examples/s "
        f"({len(ours.manifest['shards'])} shards, {ours.manifest['bytes'] / 1e6:.0f} MB)"
    )
    print(f"naive: {naive_seconds:7.1f} s  {rows / naive_seconds:10,.0f} examples/s")
    print(f"speed-up: {naive_seconds / ours.seconds:.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 505_000)
