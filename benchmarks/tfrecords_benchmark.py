"""Benchmark: training shards for a generated sample of pairs, ours vs a naive Beam pipeline.

All read the same Parquet export on the pinned FnApiRunner. Ours runs twice: with the worker
processes the asset would choose for this many rows (one process below ~400k rows per extra
process: each costs seconds importing Beam) and with one process per core. Naive = one
`tf.train.Example` per element in a DoFn + `WriteToTFRecord`, one process per core.
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
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared box)")
    runner = DirectBeamRunner()
    every_core = DirectBeamRunner(rows_per_process=0).pipeline_args("bench")
    chosen = runner.pipeline_args("bench", rows=rows)  # what the asset would run

    results: list[tuple[str, float, str]] = []
    for label, args in (("ours (asset's choice)", chosen), ("ours (every core)", every_core)):
        output = work / label.split()[1].strip("(")
        ours = write_tfrecords([str(parquet)], ShardSettings(str(output), TRAINING_FEATURES), args)
        assert ours.records == rows, (ours.records, rows)
        detail = (
            f"{args[1].split('=')[1]} x{args[2].split('=')[1]}, "
            f"{len(ours.manifest['shards'])} shards, {ours.manifest['bytes'] / 1e6:.0f} MB"
        )
        results.append((label, ours.seconds, detail))

    started = time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(every_core)) as pipeline:
        (
            pipeline
            | beam.io.ReadFromParquet(str(parquet))
            | beam.ParDo(NaiveExampleFn())
            | beam.io.WriteToTFRecord(str(work / "naive" / "part"), file_name_suffix=".tfrecord")
        )
    naive_seconds = time.perf_counter() - started
    naive_detail = f"{every_core[1].split('=')[1]} x{every_core[2].split('=')[1]}"
    results.append(("naive", naive_seconds, naive_detail))

    print(f"pairs written: {rows:,}; load average after: {os.getloadavg()[0]:.1f}")
    for label, seconds, detail in results:
        print(f"{label:22s}: {seconds:7.1f} s {rows / seconds:10,.0f} examples/s  ({detail})")
    best = min(seconds for label, seconds, _ in results if label != "naive")
    print(f"speed-up over naive: {naive_seconds / best:.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 505_000)
