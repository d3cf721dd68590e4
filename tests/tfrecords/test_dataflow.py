"""The TFRecord pipeline on Dataflow: the job built offline with Beam's dry_run and checked
(runner, options, worker pool, steps, how workers get our code), and a real run on Google Cloud
when credentials exist (marked gcp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow.parquet as pq
import pytest
from apache_beam.internal import pickler
from apache_beam.options.pipeline_options import (
    DebugOptions,
    GoogleCloudOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.dataflow.internal import apiclient
from google.cloud import dataflow_v1beta3 as dataflow

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import create_tables  # noqa: E402

from resources.beam import DataflowBeamRunner, job_name_for  # noqa: E402
from twotower_assets.pipelines.example_encoding import (  # noqa: E402
    encode_examples,
    frame_records,
)
from twotower_assets.pipelines.feature_spec import TRAINING_FEATURES  # noqa: E402
from twotower_assets.pipelines.tfrecord_pipeline import (  # noqa: E402
    ShardSettings,
    build_pipeline,
    plan_row_groups,
    write_tfrecords,
)

BUCKET = "gs://twotower-dry-run-bucket"  # a valid bucket name; an invalid one makes Beam
# fall back to creating a default bucket, which is a network call even with dry_run.
STEPS = ["RowGroups", "Spread", "EncodeAndWrite", "CollectShards", "Finalize"]

# Run in a fresh interpreter that cannot import this repository: what a Dataflow worker
# without our container image sees. It unpickles the DoFn from the job and writes a shard.
WORKER_SCRIPT = """
import importlib.abc, json, sys, dataclasses
class NoRepository(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("twotower_assets", "resources", "tests", "twotower"):
            raise ImportError(f"a Dataflow worker has no module {name}")
sys.meta_path.insert(0, NoRepository())
from apache_beam.internal import pickler
fn = pickler.loads(open(sys.argv[1], "rb").read())[0]
fn.settings = dataclasses.replace(fn.settings, output_dir=sys.argv[2])
fn.setup()
fn.start_bundle()
infos = list(fn.process((sys.argv[3], 0, int(sys.argv[4]))))
infos += [windowed.value for windowed in fn.finish_bundle()]
print(json.dumps({"class": type(fn).__name__, "shards": infos}))
"""


def _dry_run_job(runner: DataflowBeamRunner, job_name: str, settings: ShardSettings):  # noqa: ANN202
    runner.prepare()
    units = [
        (f"{BUCKET}/exports/tfrecords_train/data_0.parquet", 0, 122_880),
        (f"{BUCKET}/exports/tfrecords_train/data_0.parquet", 1, 4_000),
    ]
    pipeline = beam.Pipeline(argv=runner.pipeline_args(job_name))
    build_pipeline(pipeline, units, settings)
    result = pipeline.run()
    return pipeline, result


def test_dataflow_dry_run_builds_the_job_offline(
    network_attempts: list[str], tmp_path: Path
) -> None:
    runner = DataflowBeamRunner(
        project="twotower-dry-run",
        region="europe-west4",
        temp_location=f"{BUCKET}/temp",
        staging_location=f"{BUCKET}/staging",
        machine_type="n2-standard-8",
        max_num_workers=17,
        dry_run=True,
    )
    job_name = job_name_for("train")
    settings = ShardSettings(
        f"{BUCKET}/tfrecords/train.tmp-{uuid.uuid4().hex[:8]}",
        TRAINING_FEATURES,
        compression="gzip",
        target_shard_bytes=64 * 1024 * 1024,
    )
    pipeline, result = _dry_run_job(runner, job_name, settings)
    assert network_attempts == [], network_attempts
    assert type(pipeline.runner).__name__ == "DataflowRunner"
    job = result.job  # dry_run returns the job it would have submitted

    # The job and its options, as the Dataflow service would receive them.
    assert job.proto.name == job_name and job_name.startswith("twotower-train-")
    assert job.proto.type_ == dataflow.JobType.JOB_TYPE_BATCH
    options = job.options
    cloud = options.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region, cloud.job_name) == (
        "twotower-dry-run",
        "europe-west4",
        job_name,
    )
    # Beam makes both locations job-specific: <location>/<job name>.<time>.
    assert cloud.temp_location.startswith(f"{BUCKET}/temp/{job_name}.")
    assert cloud.staging_location.startswith(f"{BUCKET}/staging/{job_name}.")
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    workers = options.view_as(WorkerOptions)
    assert (workers.machine_type, workers.max_num_workers) == ("n2-standard-8", 17)
    assert "use_runner_v2" in options.view_as(DebugOptions).experiments
    assert options.view_as(SetupOptions).pickle_library == "cloudpickle"

    # The environment Dataflow would get (built offline from the same job, as create_job does
    # after staging): worker pool, region, temp storage and the Beam SDK image.
    environment = apiclient.Environment(
        packages=[],
        options=options,
        environment_version="8",
        proto_pipeline_staged_url=f"{cloud.staging_location}/pipeline.pb",
        proto_pipeline=job.proto_pipeline,
    ).proto
    (pool,) = environment.worker_pools
    assert pool.machine_type == "n2-standard-8"
    assert pool.autoscaling_settings.max_num_workers == 17
    # Dataflow's spelling of gs://bucket/path.
    assert environment.temp_storage_prefix == "storage.googleapis.com/" + cloud.temp_location[5:]
    assert "use_runner_v2" in list(environment.experiments)
    (image,) = pool.sdk_harness_container_images
    assert "beam_python3.11_sdk" in image.container_image, image.container_image

    # The steps: our five top-level transforms, in order.
    components = job.proto_pipeline.components
    (root,) = job.proto_pipeline.root_transform_ids
    top = [components.transforms[t].unique_name for t in components.transforms[root].subtransforms]
    assert top == STEPS, top

    # How workers get our code: the DoFn is pickled by value (no container image, no setup.py)
    # and runs in an interpreter that cannot import this repository.
    (encode,) = [t for t in components.transforms.values() if t.unique_name == "EncodeAndWrite"]
    assert encode.spec.urn == "beam:transform:pardo:v1"
    payload = beam_runner_api_pb2.ParDoPayload.FromString(encode.spec.payload).do_fn.payload
    fn = pickler.loads(payload)[0]
    assert fn.settings == settings  # the compression, target size and features travel as set

    connection = duckdb.connect()
    create_tables(connection, pairs=60, catalogue=13, modulus=10)
    columns = ", ".join(f.name for f in TRAINING_FEATURES)
    parquet = tmp_path / "pairs.parquet"
    connection.execute(f"COPY (SELECT {columns} FROM training_pairs) TO '{parquet}'")
    rows = pq.read_metadata(parquet).row_group(0).num_rows
    (tmp_path / "dofn.pkl").write_bytes(payload)
    outcome = subprocess.run(
        [
            sys.executable,
            "-c",
            WORKER_SCRIPT,
            str(tmp_path / "dofn.pkl"),
            str(tmp_path / "out"),
            str(parquet),
            str(rows),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
        timeout=120,
        check=False,
    )
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    report = json.loads(outcome.stdout.strip().splitlines()[-1])
    assert report["class"] == "WriteShardsFn"
    assert [shard["records"] for shard in report["shards"]] == [rows]
    import gzip

    written = gzip.decompress(Path(report["shards"][0]["temporary"]).read_bytes())
    expected = frame_records(encode_examples(pq.read_table(parquet), TRAINING_FEATURES))
    assert written == bytes(expected)


def test_dataflow_options_name_the_code_route() -> None:
    """Workers get our code from an image when one is set, else from a setup file if set."""
    base = {
        "project": "twotower-dry-run",
        "temp_location": f"{BUCKET}/temp",
        "staging_location": f"{BUCKET}/staging",
    }
    image = "europe-docker.pkg.dev/twotower/beam/worker:1"
    with_image = DataflowBeamRunner(**base, sdk_container_image=image).pipeline_args("j")
    assert f"--sdk_container_image={image}" in with_image
    with_setup = DataflowBeamRunner(**base, setup_file="./setup.py").pipeline_args("j")
    assert "--setup_file=./setup.py" in with_setup
    assert not any(arg.startswith("--dry_run") for arg in with_setup)


def _google_credentials() -> tuple[object, str | None] | None:
    try:
        import google.auth

        return google.auth.default()
    except Exception:  # DefaultCredentialsError, or no google-auth at all
        return None


@pytest.mark.gcp
@pytest.mark.slow
def test_dataflow_runs_for_real(tmp_path: Path) -> None:
    """Writes a few hundred examples on Dataflow; needs TWOTOWER_GCS_BUCKET (gs://...)."""
    credentials = _google_credentials()
    if credentials is None:
        pytest.skip("no Google Cloud credentials (google.auth.default() failed)")
    bucket = os.environ.get("TWOTOWER_GCS_BUCKET", "")
    project = os.environ.get("TWOTOWER_GCP_PROJECT") or credentials[1]
    if not bucket.startswith("gs://") or not project:
        pytest.skip("set TWOTOWER_GCS_BUCKET=gs://... and a project to run on Dataflow")
    from apache_beam.io.filesystems import FileSystems

    connection = duckdb.connect()
    create_tables(connection, pairs=300, catalogue=41, modulus=10)
    columns = ", ".join(f.name for f in TRAINING_FEATURES)
    local = tmp_path / "pairs.parquet"
    connection.execute(f"COPY (SELECT {columns} FROM training_pairs) TO '{local}' (FORMAT parquet)")
    run = f"{bucket.rstrip('/')}/twotower-tests/{uuid.uuid4().hex[:12]}"
    remote = f"{run}/exports/pairs.parquet"
    with FileSystems.create(remote) as handle:
        handle.write(local.read_bytes())
    runner = DataflowBeamRunner(
        project=project,
        region=os.environ.get("TWOTOWER_GCP_REGION", "us-central1"),
        temp_location=f"{run}/temp",
        staging_location=f"{run}/staging",
        machine_type="n1-standard-1",
        max_num_workers=1,
    )
    runner.prepare()
    settings = ShardSettings(f"{run}/tfrecords", TRAINING_FEATURES)
    try:
        result = write_tfrecords(
            [remote], settings, runner.pipeline_args(job_name_for("test-train"))
        )
        assert result.records == 300
        assert sum(unit[2] for unit in plan_row_groups([remote])) == 300
        metadata = runner.run_metadata(result.pipeline_result)
        assert metadata["dataflow_job_id"]
        assert metadata["dataflow_console_url"].startswith("https://console.cloud.google.com/")
    finally:
        matched = FileSystems.match([f"{run}/**"])[0].metadata_list
        if matched:
            FileSystems.delete([meta.path for meta in matched])
