"""Where training runs: a local subprocess (Dagster Pipes) or a Vertex AI CustomJob.

Both run the same entry point (`python -m twotower_assets.pipelines.trainer`). (Owned by the
model work: extend, do not fork.)
"""

from __future__ import annotations

from abc import ABC

import dagster as dg
from pydantic import Field


class Trainer(dg.ConfigurableResource, ABC):
    """Runs the trainer entry point somewhere."""


class LocalTrainer(Trainer):
    """A local subprocess; TensorFlow uses a local GPU when it finds one."""


class VertexTrainer(Trainer):
    """A Vertex AI CustomJob on a GPU machine."""

    project: str
    region: str = "us-central1"
    staging_bucket: str
    machine_type: str = Field(default="a2-highgpu-1g")
    accelerator_type: str = Field(default="NVIDIA_TESLA_A100")
    accelerator_count: int = Field(default=1)
    container_image: str = Field(
        default="us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest"
    )
    service_account: str | None = None
