"""The Beam pipeline that turns exported Parquet files into TFRecord shards, and their reader.

Parquet row groups -> Reshuffle (spreads them over workers) -> one DoFn that encodes Arrow
batches column-wise (example_encoding) and writes shards of a target size -> a final step that
names them `part-NNNNN-of-MMMMM.tfrecord[.gz]` and writes `manifest.json`. No Dagster here; the
runner comes from the caller's pipeline arguments (resources/beam.py).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindows

from twotower_assets.pipelines.example_encoding import encode_examples, frame_records, spec_hash
from twotower_assets.pipelines.feature_spec import Feature

Compression = Literal["none", "gzip"]
MANIFEST = "manifest.json"
TEMPORARY = "_temporary"
CHUNK_ROWS = 4096  # rows encoded at once: small enough to stay in cache (measured: 2-4k best)


class TFRecordError(RuntimeError):
    """Writing or reading shards failed; the message names the file or shard."""


def shard_suffix(compression: Compression) -> str:
    return ".tfrecord.gz" if compression == "gzip" else ".tfrecord"


def shard_name(index: int, count: int, compression: Compression) -> str:
    return f"part-{index:05d}-of-{count:05d}{shard_suffix(compression)}"


@dataclass(frozen=True)
class ShardSettings:
    """Where and how shards are written (picklable: it travels to the workers)."""

    output_dir: str
    features: tuple[Feature, ...]
    compression: Compression = "none"
    target_shard_bytes: int = 100 * 1024 * 1024
    chunk_rows: int = CHUNK_ROWS

    def __post_init__(self) -> None:
        if self.compression not in ("none", "gzip"):
            raise ValueError(f"compression must be 'none' or 'gzip', got {self.compression!r}")
        if self.target_shard_bytes <= 0:
            raise ValueError(f"target_shard_bytes must be positive, got {self.target_shard_bytes}")


@dataclass
class WriteResult:
    """What one pipeline run wrote (the manifest) and how long it took."""

    manifest: dict[str, Any]
    seconds: float
    pipeline_result: Any = field(repr=False, default=None)

    @property
    def records(self) -> int:
        return int(self.manifest["records"])

    @property
    def examples_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def plan_row_groups(parquet_files: Sequence[str]) -> list[tuple[str, int, int]]:
    """(file, row group, rows) for every non-empty row group: the units of parallel work."""
    import fsspec

    units: list[tuple[str, int, int]] = []
    for path in parquet_files:
        try:
            with fsspec.open(path, "rb") as handle:
                metadata = pq.ParquetFile(handle).metadata
        except Exception as error:
            raise TFRecordError(f"cannot read the Parquet footer of {path}: {error}") from error
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            if rows:
                units.append((path, group, rows))
    return units


class WriteShardsFn(beam.DoFn):
    """Encodes row groups and appends them to shard files, rolling at the target size.

    A shard is opened lazily (no empty shard) under `_temporary/` with a unique name; its
    (temporary path, records, bytes) is emitted when it is closed. Names are final only after
    every shard is known (finalize_shards), so a failed run never leaves `part-*` files.
    """

    def __init__(self, settings: ShardSettings) -> None:
        self.settings = settings

    def start_bundle(self) -> None:
        self._handle: Any = None
        self._path = ""
        self._records = 0
        self._bytes = 0
        self._closed: list[dict[str, Any]] = []
        self._bytes_per_row = 1024.0  # a guess until the first chunk is measured

    def _open(self) -> None:
        settings = self.settings
        self._path = (
            f"{settings.output_dir.rstrip('/')}/{TEMPORARY}/"
            f"{uuid.uuid4().hex}{shard_suffix(settings.compression)}"
        )
        compression = (
            CompressionTypes.GZIP
            if settings.compression == "gzip"
            else CompressionTypes.UNCOMPRESSED
        )
        self._handle = FileSystems.create(
            self._path, mime_type="application/octet-stream", compression_type=compression
        )
        self._records = 0
        self._bytes = 0

    def _close(self) -> dict[str, Any] | None:
        if self._handle is None:
            return None
        self._handle.close()
        self._handle = None
        info = {"temporary": self._path, "records": self._records, "bytes": self._bytes}
        self._closed.append(info)
        return info

    def process(self, unit: tuple[str, int, int]) -> Iterator[dict[str, Any]]:
        path, group, expected_rows = unit
        names = [feature.name for feature in self.settings.features]
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            table = pq.ParquetFile(handle).read_row_group(group, columns=names)
        if table.num_rows != expected_rows:
            raise TFRecordError(
                f"{path} row group {group}: read {table.num_rows} rows, footer says {expected_rows}"
            )
        start = 0
        while start < table.num_rows:
            if self._handle is None:
                self._open()
            # Chunks never overshoot the shard target by much once the row size is known.
            room = self.settings.target_shard_bytes - self._bytes
            rows = min(self.settings.chunk_rows, max(1, int(room / self._bytes_per_row) + 1))
            batch = table.slice(start, rows).combine_chunks().to_batches()[0]
            framed = frame_records(encode_examples(batch, self.settings.features))
            self._handle.write(framed)
            self._records += batch.num_rows
            self._bytes += len(framed)
            self._bytes_per_row = max(1.0, len(framed) / batch.num_rows)
            start += batch.num_rows
            if self._bytes >= self.settings.target_shard_bytes:
                info = self._close()
                if info is not None:
                    yield info

    def finish_bundle(self) -> Iterator[Any]:
        info = self._close()
        if info is not None:
            yield GlobalWindows.windowed_value(info)


def finalize_shards(
    infos: list[dict[str, Any]], settings: ShardSettings, source: Sequence[str]
) -> dict[str, Any]:
    """Rename temporary shards to `part-NNNNN-of-MMMMM` and write `manifest.json`."""
    ordered = sorted(infos, key=lambda info: info["temporary"])
    output_dir = settings.output_dir.rstrip("/")
    finals = [
        f"{output_dir}/{shard_name(i, len(ordered), settings.compression)}"
        for i in range(len(ordered))
    ]
    if ordered:
        FileSystems.rename([info["temporary"] for info in ordered], finals)
    leftovers = FileSystems.match([f"{output_dir}/{TEMPORARY}/*"])[0].metadata_list
    if leftovers:  # shards of retried bundles: never listed, never kept
        FileSystems.delete([meta.path for meta in leftovers])
    with contextlib.suppress(Exception):  # object stores have no folders to remove
        FileSystems.delete([f"{output_dir}/{TEMPORARY}"])
    manifest = {
        "format_version": 1,
        "records": sum(info["records"] for info in ordered),
        "bytes": sum(info["bytes"] for info in ordered),
        "compression": settings.compression,
        "features": [feature.name for feature in settings.features],
        "spec_hash": spec_hash(settings.features),
        "source": list(source),
        "shards": [
            {"file": final.rsplit("/", 1)[-1], "records": info["records"], "bytes": info["bytes"]}
            for final, info in zip(finals, ordered, strict=True)
        ],
    }
    with FileSystems.create(f"{output_dir}/{MANIFEST}", mime_type="application/json") as handle:
        handle.write(json.dumps(manifest, indent=2).encode("utf-8"))
    return manifest


def build_pipeline(
    pipeline: beam.Pipeline, units: Sequence[tuple[str, int, int]], settings: ShardSettings
) -> beam.PCollection:
    """Adds the shard-writing steps to `pipeline`; returns the PCollection of the manifest."""
    sources = sorted({unit[0] for unit in units})
    return (
        pipeline
        | "RowGroups" >> beam.Create(list(units))
        | "Spread" >> beam.Reshuffle()
        | "EncodeAndWrite" >> beam.ParDo(WriteShardsFn(settings))
        | "CollectShards" >> beam.combiners.ToList()
        | "Finalize" >> beam.Map(finalize_shards, settings, sources)
    )


def write_tfrecords(
    parquet_files: Sequence[str],
    settings: ShardSettings,
    pipeline_args: Sequence[str],
    units: Sequence[tuple[str, int, int]] | None = None,
) -> WriteResult:
    """Run the pipeline over `parquet_files` and wait; returns the manifest it wrote.

    `units`: the row groups of `parquet_files` when the caller already planned them.
    """
    started = time.perf_counter()
    if units is None:
        units = plan_row_groups(parquet_files)
    pipeline = beam.Pipeline(options=PipelineOptions(list(pipeline_args)))
    build_pipeline(pipeline, units, settings)
    result = pipeline.run()
    state = result.wait_until_finish()
    if str(state) not in ("DONE", "PipelineState.DONE") and "DONE" not in str(state):
        raise TFRecordError(f"TFRecord pipeline for {settings.output_dir} ended in state {state}")
    manifest = read_manifest(settings.output_dir)
    return WriteResult(manifest, time.perf_counter() - started, result)


def read_manifest(output_dir: str) -> dict[str, Any]:
    path = f"{output_dir.rstrip('/')}/{MANIFEST}"
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            return json.loads(handle.read().decode("utf-8"))
    except Exception as error:
        raise TFRecordError(f"cannot read the shard manifest {path}: {error}") from error


def shard_files(output_dir: str) -> list[str]:
    """The shard paths listed in `output_dir`'s manifest, in order."""
    manifest = read_manifest(output_dir)
    return [f"{output_dir.rstrip('/')}/{shard['file']}" for shard in manifest["shards"]]


def read_examples(
    pattern_or_files: str | Iterable[str],
    features: Sequence[Feature],
    batch_size: int,
    *,
    shuffle_files: bool = False,
) -> Any:
    """A `tf.data.Dataset` of parsed feature dicts (batches) from shards.

    `pattern_or_files`: a shard folder (its manifest lists the files), a glob, or file paths.
    GZIP is recognised by the `.gz` suffix.
    """
    import tensorflow as tf

    from twotower_assets.pipelines.feature_spec import parse_spec

    if isinstance(pattern_or_files, str):
        if FileSystems.exists(f"{pattern_or_files.rstrip('/')}/{MANIFEST}"):
            files = shard_files(pattern_or_files)
        else:
            files = sorted(
                meta.path for meta in FileSystems.match([pattern_or_files])[0].metadata_list
            )
    else:
        files = list(pattern_or_files)
    if not files:
        raise TFRecordError(f"no TFRecord shards found for {pattern_or_files!r}")
    compressed = {file.endswith(".gz") for file in files}
    if len(compressed) != 1:
        raise TFRecordError(f"mixed compressed and uncompressed shards: {files}")
    spec = parse_spec(tuple(features))
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_files:
        dataset = dataset.shuffle(len(files))
    dataset = tf.data.TFRecordDataset(
        dataset,
        compression_type="GZIP" if compressed.pop() else "",
        num_parallel_reads=tf.data.AUTOTUNE,
    )
    return (
        dataset.batch(batch_size)
        .map(
            lambda records: tf.io.parse_example(records, spec), num_parallel_calls=tf.data.AUTOTUNE
        )
        .prefetch(tf.data.AUTOTUNE)
    )
