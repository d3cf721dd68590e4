"""Where Beam pipelines run: the DirectRunner's engine locally, Dataflow on gcp.

The pipeline code (twotower_assets/pipelines/) never picks a runner; it asks this resource for
pipeline arguments, and for run metadata afterwards. (Owned by the TFRecords work.)
"""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from typing import Any

import dagster as dg
from pydantic import Field

# Modules a Dataflow worker needs from this repository. Without a container image holding our
# code they are pickled by value with the pipeline; they import only numpy, pyarrow,
# google-crc32c and apache_beam, which the Beam worker image already has.
WORKER_MODULES = (
    "twotower_assets.pipelines.feature_spec",
    "twotower_assets.pipelines.example_encoding",
    "twotower_assets.pipelines.tfrecord_pipeline",
)


def job_name_for(asset: str) -> str:
    """A Dataflow-valid job name: lowercase letters, digits, dashes, unique per second."""
    base = re.sub(r"[^a-z0-9-]+", "-", f"twotower-{asset}".lower()).strip("-")
    return f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"[:63]


class BeamRunner(dg.ConfigurableResource, ABC):
    @property
    @abstractmethod
    def runner_name(self) -> str: ...

    @abstractmethod
    def pipeline_args(self, job_name: str, rows: int | None = None) -> list[str]:
        """Command-line style Beam options for one run over `rows` input rows (when known)."""

    def prepare(self) -> None:
        """Process-wide setup before a pipeline is built (nothing by default)."""

    def run_metadata(self, pipeline_result: Any) -> dict[str, str]:
        """What to record about a finished run (job id, console URL) besides the runner."""
        return {"runner": self.runner_name}


class DirectBeamRunner(BeamRunner):
    """The DirectRunner's FnApiRunner, pinned, with one worker process per core.

    `--runner=DirectRunner` in Beam >= 2.68 first tries the Prism runner, which downloads a
    binary from GitHub; naming the FnApiRunner (what DirectRunner falls back to) makes no
    network attempt.
    """

    num_workers: int = Field(default=0, description="Worker processes; 0 means one per core.")
    rows_per_process: int = Field(
        default=400_000,
        description="Input rows that justify one more worker process. Each process costs about "
        "4 s of CPU importing Beam before its first row (measured on 2 cores), which an input "
        "of a few hundred thousand rows never earns back; 0 always uses every worker.",
    )

    @property
    def runner_name(self) -> str:
        return "FnApiRunner"

    def workers_for(self, rows: int | None) -> int:
        workers = self.num_workers or os.cpu_count() or 1
        if rows is not None and self.rows_per_process > 0:
            workers = max(1, min(workers, rows // self.rows_per_process))
        return workers

    def pipeline_args(self, job_name: str, rows: int | None = None) -> list[str]:
        workers = self.workers_for(rows)
        return [
            "--runner=FnApiRunner",
            f"--direct_running_mode={'multi_processing' if workers > 1 else 'in_memory'}",
            f"--direct_num_workers={workers}",
            f"--job_name={job_name}",
        ]


class DataflowBeamRunner(BeamRunner):
    """Google Cloud Dataflow."""

    project: str
    region: str = "us-central1"
    temp_location: str
    staging_location: str
    machine_type: str = Field(default="n1-standard-4", description="Worker machine type.")
    max_num_workers: int = Field(default=10, description="Autoscaling ceiling.")
    network: str | None = None
    subnetwork: str | None = None
    service_account_email: str | None = None
    sdk_container_image: str | None = Field(
        default=None,
        description="Worker image holding this repository; when unset, the pipeline modules "
        "are pickled by value with the job (they need nothing beyond Beam's own image).",
    )
    setup_file: str | None = Field(default=None, description="Optional setup.py for workers.")
    requirements_file: str | None = Field(default=None, description="Optional requirements.txt.")
    dry_run: bool = Field(
        default=False, description="Build and validate the job without submitting it."
    )

    @property
    def runner_name(self) -> str:
        return "DataflowRunner"

    def pipeline_args(self, job_name: str, rows: int | None = None) -> list[str]:
        args = [
            "--runner=DataflowRunner",
            f"--project={self.project}",
            f"--region={self.region}",
            f"--temp_location={self.temp_location}",
            f"--staging_location={self.staging_location}",
            f"--machine_type={self.machine_type}",
            f"--max_num_workers={self.max_num_workers}",
            f"--job_name={job_name}",
            "--experiments=use_runner_v2",
            # prepare() registers our modules with cloudpickle; pin it so that holds.
            "--pickle_library=cloudpickle",
            # Beam would run `pip freeze` to record the submitting environment; a uv venv has
            # no pip, so it only logs a failure.
            "--experiments=disable_logging_submission_environment",
        ]
        optional = {
            "network": self.network,
            "subnetwork": self.subnetwork,
            "service_account_email": self.service_account_email,
            "sdk_container_image": self.sdk_container_image,
            "setup_file": self.setup_file,
            "requirements_file": self.requirements_file,
        }
        args += [f"--{name}={value}" for name, value in optional.items() if value]
        if self.dry_run:
            args.append("--dry_run=True")
        return args

    def prepare(self) -> None:
        if self.sdk_container_image:
            return
        import importlib

        from apache_beam.internal.cloudpickle import cloudpickle

        for name in WORKER_MODULES:
            cloudpickle.register_pickle_by_value(importlib.import_module(name))

    def console_url(self, job_id: str) -> str:
        return (
            f"https://console.cloud.google.com/dataflow/jobs/{self.region}/{job_id}"
            f"?project={self.project}"
        )

    def run_metadata(self, pipeline_result: Any) -> dict[str, str]:
        metadata = {"runner": self.runner_name}
        job_id = ""
        job_id_of = getattr(pipeline_result, "job_id", None)
        if callable(job_id_of):
            job_id = job_id_of() or ""
        if job_id:
            metadata["dataflow_job_id"] = job_id
            metadata["dataflow_console_url"] = self.console_url(job_id)
        return metadata
