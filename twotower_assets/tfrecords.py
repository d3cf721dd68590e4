"""Assets of the 'tfrecords' group: warehouse tables -> Parquet export -> Beam -> TFRecord shards.

Each asset exports its rows, runs the one Beam pipeline (pipelines/tfrecord_pipeline.py) into a
staging folder and swaps it into place; checks re-read what was written.
"""

import hashlib
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field

from resources.beam import BeamRunner, job_name_for
from resources.storage import ArtifactStore
from resources.warehouse import Warehouse
from twotower_assets.pipelines import example_encoding
from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES, TRAINING_FEATURES, Feature

# Beam is imported inside the asset functions: loading the definitions must stay cheap.
_PIPELINES = Path(__file__).resolve().parent / "pipelines"
CODE_VERSION = hashlib.sha256(
    b"".join(
        (_PIPELINES / name).read_bytes()
        for name in ("example_encoding.py", "tfrecord_pipeline.py", "feature_spec.py")
    )
).hexdigest()[:16]


class TFRecordConfig(dg.Config):
    target_shard_mb: float = Field(default=100.0, description="Target size of one shard, MB.")
    compression: Literal["none", "gzip"] = Field(default="none", description="none or gzip.")


def _select_sql(warehouse: Warehouse, folder: str) -> str:
    """The rows of one shard folder, columns named like the features."""
    if folder == "candidates":
        columns = ", ".join(f"{f.source_column} AS {f.name}" for f in CANDIDATE_FEATURES)
        return f"SELECT {columns} FROM {warehouse.table_ref('tracks')}"
    columns = ", ".join(f.name for f in TRAINING_FEATURES)
    split = "train" if folder == "train" else "valid"
    return f"SELECT {columns} FROM {warehouse.table_ref('training_pairs')} WHERE split = '{split}'"


def _features(folder: str) -> tuple[Feature, ...]:
    return CANDIDATE_FEATURES if folder == "candidates" else TRAINING_FEATURES


def expected_rows(warehouse: Warehouse, folder: str) -> int:
    return int(warehouse.scalar(f"SELECT COUNT(*) FROM ({_select_sql(warehouse, folder)}) AS t"))


def materialize_shards(
    context: dg.AssetExecutionContext,
    folder: str,
    config: TFRecordConfig,
    warehouse: Warehouse,
    artifacts: ArtifactStore,
    beam: BeamRunner,
) -> dg.MaterializeResult:
    log = context.log.info
    export = artifacts.path("exports", f"tfrecords_{folder}")
    if artifacts.filesystem.exists(export):
        artifacts.filesystem.rm(export, recursive=True)
    parquet_files = warehouse.export_parquet(_select_sql(warehouse, folder), export)
    beam.prepare()
    from twotower_assets.pipelines.tfrecord_pipeline import (
        ShardSettings,
        plan_row_groups,
        write_tfrecords,
    )

    units = plan_row_groups(parquet_files)
    rows = sum(unit[2] for unit in units)
    log(f"[1/3] exported {rows:,} rows to {len(parquet_files)} Parquet file(s) under {export}")
    with artifacts.staging("tfrecords", folder) as staging:
        settings = ShardSettings(
            output_dir=staging,
            features=_features(folder),
            compression=config.compression,
            target_shard_bytes=int(config.target_shard_mb * 1024 * 1024),
        )
        args = beam.pipeline_args(job_name_for(folder), rows=rows)
        log(
            f"[2/3] Beam on {beam.runner_name}: {len(units)} row group(s) -> "
            f"encode -> shards of ~{config.target_shard_mb:g} MB ({config.compression})"
        )
        result = write_tfrecords(parquet_files, settings, args, units=units)
    manifest = result.manifest
    log(
        f"[3/3] {result.records:,} examples in {len(manifest['shards'])} shard(s), "
        f"{result.seconds:.1f} s ({result.examples_per_second:,.0f} examples/s), swapped into place"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.records,
            "shards": len(manifest["shards"]),
            "records": result.records,
            "bytes": int(manifest["bytes"]),
            "seconds": round(result.seconds, 2),
            "examples_per_second": round(result.examples_per_second, 1),
            "compression": config.compression,
            "spec_hash": manifest["spec_hash"],
            "path": dg.MetadataValue.path(artifacts.path("tfrecords", folder)),
            **beam.run_metadata(result.pipeline_result),
        }
    )


def _shard_asset(name: str, folder: str, table: str, description: str) -> dg.AssetsDefinition:
    """One TFRecord asset: the rows of `table` for `folder`, exported and written by Beam."""

    @dg.asset(
        name=name,
        deps=[table],
        code_version=CODE_VERSION,
        kinds={"beam", "tensorflow"},
        description=description,
    )
    def shards(
        context: dg.AssetExecutionContext,
        config: TFRecordConfig,
        warehouse: Warehouse,
        artifacts: ArtifactStore,
        beam: BeamRunner,
    ) -> dg.MaterializeResult:
        return materialize_shards(context, folder, config, warehouse, artifacts, beam)

    return shards


train_tfrecords = _shard_asset(
    "train_tfrecords",
    "train",
    "training_pairs",
    "Training pairs (split = 'train') as tf.train.Example shards.",
)
valid_tfrecords = _shard_asset(
    "valid_tfrecords",
    "valid",
    "training_pairs",
    "Validation pairs (split = 'valid') as tf.train.Example shards.",
)
candidate_tfrecords = _shard_asset(
    "candidate_tfrecords",
    "candidates",
    "tracks",
    "The candidate catalogue (`tracks`) as tf.train.Example shards of candidate features.",
)


def verify_shards(folder: str, warehouse: Warehouse, artifacts: ArtifactStore) -> list[str]:
    """Problems with a shard folder: unparsable records, count mismatches, empty shards."""
    import tensorflow as tf

    from twotower_assets.pipelines.feature_spec import parse_spec

    output_dir = artifacts.path("tfrecords", folder)
    from twotower_assets.pipelines import tfrecord_pipeline

    manifest = tfrecord_pipeline.read_manifest(output_dir)
    problems: list[str] = []
    features = _features(folder)
    if manifest["spec_hash"] != example_encoding.spec_hash(features):
        problems.append(f"{output_dir}: spec hash {manifest['spec_hash']} != current spec")
    spec = parse_spec(features)
    for shard in manifest["shards"]:
        path = f"{output_dir}/{shard['file']}"
        if shard["records"] == 0:
            problems.append(f"{path}: empty shard")
        compression = "GZIP" if path.endswith(".gz") else ""
        parsed = 0
        try:
            for records in tf.data.TFRecordDataset(path, compression_type=compression).batch(4096):
                tf.io.parse_example(records, spec)
                parsed += int(records.shape[0])
        except (tf.errors.OpError, ValueError) as error:
            problems.append(f"{path}: does not parse with the feature spec: {error}")
            continue
        if parsed != shard["records"]:
            problems.append(f"{path}: {parsed} records, manifest says {shard['records']}")
    rows = expected_rows(warehouse, folder)
    if int(manifest["records"]) != rows:
        problems.append(f"{output_dir}: {manifest['records']} records, table has {rows} rows")
    return problems


def _shard_check(asset: dg.AssetsDefinition, folder: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="shards_parse_and_match_table",
        blocking=True,
        description="Every record parses with the feature spec; records per shard and in total "
        "equal the manifest and the table's row count; no shard is empty.",
    )
    def check(warehouse: Warehouse, artifacts: ArtifactStore) -> dg.AssetCheckResult:
        problems = verify_shards(folder, warehouse, artifacts)
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={"problems": "\n".join(problems[:20]) or "none", "count": len(problems)},
        )

    return check


train_tfrecords_check = _shard_check(train_tfrecords, "train")
valid_tfrecords_check = _shard_check(valid_tfrecords, "valid")
candidate_tfrecords_check = _shard_check(candidate_tfrecords, "candidates")
