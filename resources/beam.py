"""Where Beam pipelines run: the DirectRunner locally, Dataflow on gcp.

The pipeline code (twotower_assets/pipelines/) never picks a runner; it asks this resource for
`PipelineOptions`. (Owned by the TFRecords work: extend, do not fork.)
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

import dagster as dg
from pydantic import Field


class BeamRunner(dg.ConfigurableResource, ABC):
    @property
    @abstractmethod
    def runner_name(self) -> str: ...

    @abstractmethod
    def pipeline_args(self, job_name: str) -> list[str]:
        """Command-line style Beam options for one pipeline run."""


class DirectBeamRunner(BeamRunner):
    """Beam's DirectRunner, pinned (recent Beam would otherwise try to download Prism)."""

    num_workers: int = Field(default=0, description="Worker processes; 0 means one per core.")

    @property
    def runner_name(self) -> str:
        return "DirectRunner"

    def pipeline_args(self, job_name: str) -> list[str]:
        workers = self.num_workers or os.cpu_count() or 1
        return [
            "--runner=DirectRunner",
            "--direct_running_mode=multi_processing",
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
    service_account_email: str | None = None

    @property
    def runner_name(self) -> str:
        return "DataflowRunner"

    def pipeline_args(self, job_name: str) -> list[str]:
        args = [
            "--runner=DataflowRunner",
            f"--project={self.project}",
            f"--region={self.region}",
            f"--temp_location={self.temp_location}",
            f"--staging_location={self.staging_location}",
            f"--machine_type={self.machine_type}",
            f"--max_num_workers={self.max_num_workers}",
            f"--job_name={job_name}",
        ]
        if self.network:
            args.append(f"--network={self.network}")
        if self.service_account_email:
            args.append(f"--service_account_email={self.service_account_email}")
        return args
