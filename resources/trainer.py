"""Where training runs: a local subprocess (Dagster Pipes) or a Vertex AI CustomJob.

Both run the same entry point (`python -m twotower_assets.pipelines.trainer`). (Owned by the
model work: extend, do not fork.)
"""

from __future__ import annotations

import json
import os
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

TRAINER_MODULE = "twotower_assets.pipelines.trainer"
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


def trainer_arguments(root: str, parameters: dict[str, Any]) -> list[str]:
    """The entry point's arguments (after `python -m <module>`), the same everywhere."""
    return ["--root", root, "--parameters-json", json.dumps(parameters, sort_keys=True)]


class Trainer(dg.ConfigurableResource, ABC):
    """Runs the trainer entry point somewhere and returns the materialization it reported."""

    @abstractmethod
    def train(
        self, context: dg.AssetExecutionContext, root: str, parameters: dict[str, Any]
    ) -> dg.MaterializeResult: ...


class LocalTrainer(Trainer):
    """A local subprocess through Dagster Pipes; TensorFlow uses a local GPU when it finds one."""

    python_executable: str | None = Field(
        default=None, description="Interpreter for the trainer; default: the running one."
    )

    def command(self, root: str, parameters: dict[str, Any]) -> list[str]:
        python = self.python_executable or sys.executable
        return [python, "-m", TRAINER_MODULE, *trainer_arguments(root, parameters)]

    def train(
        self, context: dg.AssetExecutionContext, root: str, parameters: dict[str, Any]
    ) -> dg.MaterializeResult:
        env = {
            "TF_USE_LEGACY_KERAS": "1",
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPOSITORY_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        client = dg.PipesSubprocessClient(cwd=str(REPOSITORY_ROOT))
        invocation = client.run(context=context, command=self.command(root, parameters), env=env)
        return invocation.get_materialize_result()


class VertexTrainer(Trainer):
    """A Vertex AI CustomJob on a GPU machine, running the same entry point."""

    project: str
    region: str = "us-central1"
    staging_bucket: str
    machine_type: str = Field(default="a2-highgpu-1g", description="Vertex machine type.")
    accelerator_type: str = Field(default="NVIDIA_TESLA_A100", description="GPU type.")
    accelerator_count: int = Field(default=1, description="GPUs per machine.")
    container_image: str = Field(
        default="us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest",
        description="Image with this package installed (or installable) and TensorFlow.",
    )
    service_account: str | None = Field(default=None, description="Job service account.")
    poll_seconds: float = Field(default=30.0, description="Seconds between job state polls.")

    def display_name(self, run_id: str) -> str:
        return f"twotower-train-{run_id[:8]}"

    def worker_pool_specs(self, root: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        machine: dict[str, Any] = {"machine_type": self.machine_type}
        if self.accelerator_count > 0:
            machine["accelerator_type"] = self.accelerator_type
            machine["accelerator_count"] = self.accelerator_count
        return [
            {
                "machine_spec": machine,
                "replica_count": 1,
                "container_spec": {
                    "image_uri": self.container_image,
                    "command": ["python", "-m", TRAINER_MODULE],
                    "args": trainer_arguments(root, parameters),
                    "env": [{"name": "TF_USE_LEGACY_KERAS", "value": "1"}],
                },
            }
        ]

    def custom_job_spec(self, run_id: str, root: str, parameters: dict[str, Any]) -> dict:
        """Everything the CustomJob is built from (testable offline)."""
        return {
            "display_name": self.display_name(run_id),
            "worker_pool_specs": self.worker_pool_specs(root, parameters),
            "project": self.project,
            "location": self.region,
            "staging_bucket": self.staging_bucket,
            "base_output_dir": f"{root.rstrip('/')}/vertex/{run_id[:8]}",
            "labels": {"twotower-run": run_id[:8].lower()},
        }

    def console_url(self, resource_name: str) -> str:
        job_id = resource_name.rsplit("/", 1)[-1]
        return (
            f"https://console.cloud.google.com/vertex-ai/locations/{self.region}/"
            f"training/{job_id}/cpu?project={self.project}"
        )

    def submit(self, run_id: str, root: str, parameters: dict[str, Any]) -> Any:
        from google.cloud import aiplatform

        spec = self.custom_job_spec(run_id, root, parameters)
        job = aiplatform.CustomJob(**spec)
        job.submit(service_account=self.service_account)
        return job

    def train(
        self, context: dg.AssetExecutionContext, root: str, parameters: dict[str, Any]
    ) -> dg.MaterializeResult:
        from google.cloud.aiplatform.compat.types import job_state

        JobState = job_state.JobState  # noqa: N806

        job = self.submit(context.run_id, root, parameters)
        url = self.console_url(job.resource_name)
        context.log.info(f"Vertex AI CustomJob {job.resource_name}: {url}")
        finished = {
            JobState.JOB_STATE_SUCCEEDED,
            JobState.JOB_STATE_FAILED,
            JobState.JOB_STATE_CANCELLED,
            JobState.JOB_STATE_EXPIRED,
        }
        state = job.state  # each read fetches the job again
        while state not in finished:
            time.sleep(self.poll_seconds)
            state = job.state
        if state != JobState.JOB_STATE_SUCCEEDED:
            raise RuntimeError(f"Vertex AI job {job.resource_name} ended {state.name}: {url}")
        return dg.MaterializeResult(
            metadata={
                **finished_training_metadata(root),
                "vertex_job": job.resource_name,
                "vertex_console": dg.MetadataValue.url(url),
            }
        )


def finished_training_metadata(root: str) -> dict[str, Any]:
    """The trainer's materialization metadata rebuilt from `model/` (for non-Pipes runs)."""
    import fsspec

    from twotower_assets.pipelines.trainer import MODEL_FOLDER, materialization_metadata

    folder = f"{root.rstrip('/')}/{MODEL_FOLDER}"
    with fsspec.open(f"{folder}/history.json", "r") as handle:
        history = json.load(handle)
    with fsspec.open(f"{folder}/parameters.json", "r") as handle:
        parameters = json.load(handle)
    from twotower_assets.pipelines.trainer import TrainingParameters

    pipes_style = materialization_metadata(
        root, TrainingParameters.model_validate(parameters), history
    )
    converters = {
        "json": dg.MetadataValue.json,
        "md": dg.MetadataValue.md,
        "path": dg.MetadataValue.path,
        "url": dg.MetadataValue.url,
        "float": dg.MetadataValue.float,
        "int": dg.MetadataValue.int,
    }
    return {
        key: converters.get(value["type"], lambda v: v)(value["raw_value"])
        for key, value in pipes_style.items()
    }
