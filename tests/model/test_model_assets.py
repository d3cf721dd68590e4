"""Model and serving assets in Dagster: Pipes training, embeddings, checks, recommend; Vertex."""

from __future__ import annotations

import os
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from resources.trainer import TRAINER_MODULE, VertexTrainer, finished_training_metadata
from tests.model.conftest import TINY, copy_sample, theme_of
from tests.model.synthetic import SyntheticSample


def _tracks_table(sample: SyntheticSample, database: Path) -> None:
    rows = [
        (t.uri, t.name, t.artist_uri, t.artist_name, t.album_uri, t.album_name, "NONE",
         int(t.duration_ms), sample.track_pop.get(t.uri, 0), 1, 0.0)
        for t in sample.tracks
    ]  # fmt: skip
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            "CREATE TABLE tracks (track_uri VARCHAR, track_name VARCHAR, artist_uri VARCHAR, "
            "artist_name VARCHAR, album_uri VARCHAR, album_name VARCHAR, artist_genres VARCHAR, "
            "duration_ms BIGINT, track_pop BIGINT, artist_pop BIGINT, artist_followers DOUBLE)"
        )
        connection.executemany("INSERT INTO tracks VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)


@pytest.mark.slow
def test_model_and_embeddings_materialize_and_recommend(
    synthetic_sample: SyntheticSample, twotower_env: Path
) -> None:
    from resources import build_resources
    from twotower_assets import model, serving
    from twotower_assets.cli import main

    copy_sample(synthetic_sample, twotower_env)
    _tracks_table(synthetic_sample, twotower_env / "warehouse.duckdb")
    config = TINY.model_copy(update={"epochs": 2}).model_dump()
    checks = dg.load_asset_checks_from_modules([model, serving])
    result = dg.materialize(
        [model.two_tower_model, serving.candidate_embeddings, *checks],
        resources=build_resources("local"),
        run_config=dg.RunConfig(ops={"two_tower_model": {"config": config}}),
        raise_on_error=False,
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {
        "loss_finite_and_decreasing",
        "query_tower_sees_no_candidate_feature",
        "one_row_per_track",
        "dimension_right_and_finite",
    }
    assert all(e.passed for e in evaluations), [(e.check_name, e.metadata) for e in evaluations]
    trained = result.asset_materializations_for_node("two_tower_model")[0].metadata
    assert trained["epochs"].value == 2
    assert trained["examples_per_second"].value > 0
    assert {"loss_epoch_1", "loss_epoch_2", "loss_curve", "parameters"} <= set(trained)
    assert trained["parameters"].value["batch_size"] == TINY.batch_size
    # The gcp path rebuilds the same metadata from model/ after the Vertex job (no Pipes there).
    rebuilt = finished_training_metadata(str(twotower_env))
    assert rebuilt["epochs"].value == 2
    assert rebuilt["final_loss"].value == trained["final_loss"].value
    served = result.asset_materializations_for_node("candidate_embeddings")[0].metadata
    assert served["rows"].value == len(synthetic_sample.tracks)

    seed = next(t for t in synthetic_sample.tracks if theme_of(t.uri) == 1)
    output = CliRunner().invoke(
        main, ["recommend", "--title", "rock mix", "--track", seed.uri, "-k", "10"]
    )
    assert output.exit_code == 0, output.output
    lines = [line for line in output.output.splitlines() if re.match(r"^\s*\d+\. ", line)]
    assert len(lines) == 10
    assert seed.uri not in output.output
    uris = [line.rsplit("(", 1)[1].split(",", 1)[0] for line in lines]
    assert sum(theme_of(uri) == 1 for uri in uris) >= 6, output.output


def test_recommend_names_unknown_seed_tracks(twotower_env: Path) -> None:
    from twotower_assets.cli import main

    database = twotower_env / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE tracks (track_uri VARCHAR)")
    output = CliRunner().invoke(main, ["recommend", "--track", "spotify:track:nope"])
    assert output.exit_code != 0
    assert "spotify:track:nope" in output.output


def test_vertex_custom_job_spec_runs_the_same_entry_point() -> None:
    trainer = VertexTrainer(
        project="proj", region="europe-west4", staging_bucket="gs://bucket/vertex",
        service_account="train@proj.iam.gserviceaccount.com",
    )  # fmt: skip
    spec = trainer.custom_job_spec("ABCDEF1234", "gs://bucket/root", {"epochs": 7})
    (pool,) = spec["worker_pool_specs"]
    assert pool["machine_spec"] == {
        "machine_type": "a2-highgpu-1g",
        "accelerator_type": "NVIDIA_TESLA_A100",
        "accelerator_count": 1,
    }
    container = pool["container_spec"]
    assert container["command"] == ["python", "-m", TRAINER_MODULE]
    assert container["args"] == ["--root", "gs://bucket/root", "--parameters-json", '{"epochs": 7}']
    assert {"name": "TF_USE_LEGACY_KERAS", "value": "1"} in container["env"]
    assert spec["project"] == "proj" and spec["location"] == "europe-west4"
    assert spec["base_output_dir"].startswith("gs://bucket/root/vertex/")
    assert "europe-west4" in trainer.console_url("projects/1/locations/europe-west4/customJobs/99")
    cpu = trainer.model_copy(update={"accelerator_count": 0, "machine_type": "n1-standard-8"})
    cpu_pool = cpu.custom_job_spec("r", "gs://b/r", {})["worker_pool_specs"][0]
    assert cpu_pool["machine_spec"] == {"machine_type": "n1-standard-8"}


@pytest.mark.gcp
@pytest.mark.skipif(
    not (os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") and os.environ.get("TWOTOWER_GCS_ROOT")),
    reason="needs Google Cloud credentials and TWOTOWER_GCS_ROOT",
)
def test_vertex_job_submits() -> None:
    from resources import build_resources

    trainer = build_resources("gcp")["trainer"]
    job = trainer.submit("pytest-gcp", os.environ["TWOTOWER_GCS_ROOT"], {"epochs": 1})
    try:
        assert job.resource_name.startswith("projects/")
    finally:
        job.cancel()


def test_vertex_train_waits_and_records_the_job(tmp_path: Path, monkeypatch) -> None:
    """Mocked at the Google Cloud border: the job object. Failure names the job and its URL."""
    import json

    from google.cloud.aiplatform.compat.types import job_state

    model = tmp_path / "model"
    model.mkdir()
    history = [
        {"epoch": 1, "loss": 5.0, "val_loss": 4.0, "examples_per_second": 900.0, "seconds": 2.0},
        {"epoch": 2, "loss": 4.0, "val_loss": 3.5, "examples_per_second": 1000.0, "seconds": 2.0},
    ]
    (model / "history.json").write_text(json.dumps(history))
    (model / "parameters.json").write_text(json.dumps(TINY.model_dump()))

    class FakeJob:
        resource_name = "projects/1/locations/us-central1/customJobs/42"

        def __init__(self, states: list) -> None:
            self._states = iter(states)

        @property
        def state(self):  # noqa: ANN201 - mirrors aiplatform's refreshing property
            return next(self._states)

    states = job_state.JobState
    trainer = VertexTrainer(project="p", staging_bucket="gs://b/v", poll_seconds=0)
    monkeypatch.setattr(
        VertexTrainer,
        "submit",
        lambda self, *a: FakeJob([states.JOB_STATE_RUNNING, states.JOB_STATE_SUCCEEDED]),
    )
    result = trainer.train(dg.build_asset_context(), str(tmp_path), TINY.model_dump())
    assert result.metadata["vertex_job"] == FakeJob.resource_name
    assert "customJobs" not in result.metadata["vertex_console"].value
    assert "/training/42/" in result.metadata["vertex_console"].value
    assert result.metadata["epochs"].value == 2

    monkeypatch.setattr(
        VertexTrainer, "submit", lambda self, *a: FakeJob([states.JOB_STATE_FAILED])
    )
    with pytest.raises(RuntimeError, match="customJobs/42 ended JOB_STATE_FAILED"):
        trainer.train(dg.build_asset_context(), str(tmp_path), TINY.model_dump())
