"""Environment-swappable clients. `build_resources(profile)` returns the set for a profile.

local (default): DuckDB file + local folder + Beam DirectRunner + local training subprocess.
gcp: BigQuery + gs:// + Dataflow + Vertex AI, configured by environment variables only.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from resources.beam import BeamRunner, DataflowBeamRunner, DirectBeamRunner
from resources.dataset import DatasetSettings
from resources.mpd_source import MpdSource
from resources.settings import ConfigurationError, GcpSettings, mpd_dir, profile_name, twotower_home
from resources.storage import ArtifactStore
from resources.trainer import LocalTrainer, Trainer, VertexTrainer
from resources.warehouse import DuckDBWarehouse, Warehouse

__all__ = [
    "BigQueryWarehouse",
    "ArtifactStore",
    "BeamRunner",
    "ConfigurationError",
    "DataflowBeamRunner",
    "DatasetSettings",
    "DirectBeamRunner",
    "DuckDBWarehouse",
    "LocalTrainer",
    "MpdSource",
    "Trainer",
    "VertexTrainer",
    "Warehouse",
    "build_resources",
]


def build_resources(profile: str | None = None) -> dict[str, Any]:
    """The resources of `profile` (default: $TWOTOWER_PROFILE, else "local")."""
    profile = profile or profile_name()
    if profile == "local":
        return _local_resources()
    if profile == "gcp":
        return _gcp_resources()
    raise ConfigurationError(f"unknown profile {profile!r}; expected 'local' or 'gcp'")


def _local_resources() -> dict[str, Any]:
    home = twotower_home()
    return {
        "warehouse": DuckDBWarehouse(database=str(home / "warehouse.duckdb")),
        "artifacts": ArtifactStore(root=str(home)),
        "mpd": MpdSource(directory=mpd_dir()),
        "dataset": DatasetSettings.from_environment(),
        "beam": DirectBeamRunner(),
        "trainer": LocalTrainer(),
    }


def _gcp_resources() -> dict[str, Any]:
    from dagster_gcp import BigQueryResource

    from resources.bigquery import BigQueryWarehouse

    gcp = GcpSettings.from_environment()
    import os

    credentials = (
        dg.EnvVar("TWOTOWER_GCP_CREDENTIALS")
        if os.environ.get("TWOTOWER_GCP_CREDENTIALS")
        else None
    )
    bigquery = BigQueryResource(
        project=gcp.project, location=gcp.bq_location, gcp_credentials=credentials
    )
    return {
        "warehouse": BigQueryWarehouse(
            bigquery=bigquery, project=gcp.project, dataset=gcp.dataset, location=gcp.bq_location
        ),
        "artifacts": ArtifactStore(root=gcp.root),
        "mpd": MpdSource(directory=mpd_dir() if _mpd_dir_set() else f"{gcp.root}/mpd"),
        "dataset": DatasetSettings.from_environment(),
        "beam": DataflowBeamRunner(
            project=gcp.project,
            region=gcp.region,
            temp_location=f"{gcp.root}/dataflow/temp",
            staging_location=f"{gcp.root}/dataflow/staging",
        ),
        "trainer": VertexTrainer(
            project=gcp.project, region=gcp.region, staging_bucket=f"{gcp.root}/vertex"
        ),
    }


def _mpd_dir_set() -> bool:
    import os

    return bool(os.environ.get("TWOTOWER_MPD_DIR", "").strip())


def __getattr__(name: str) -> Any:
    # `from resources import BigQueryWarehouse` works without importing Google clients up front.
    if name == "BigQueryWarehouse":
        from resources.bigquery import BigQueryWarehouse

        return BigQueryWarehouse
    raise AttributeError(f"module 'resources' has no attribute {name!r}")
