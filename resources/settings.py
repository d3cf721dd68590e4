"""Where things are, read from the environment once; no side effects at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("local", "gcp")


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable."""


def profile_name() -> str:
    profile = os.environ.get("TWOTOWER_PROFILE", "local").strip() or "local"
    if profile not in PROFILES:
        raise ConfigurationError(
            f"TWOTOWER_PROFILE={profile!r} is not a profile; expected one of {', '.join(PROFILES)}"
        )
    return profile


def twotower_home() -> Path:
    """The local artifact root: $TWOTOWER_HOME, default `.twotower/` in the working directory."""
    return Path(os.environ.get("TWOTOWER_HOME") or ".twotower").absolute()


def mpd_dir() -> str:
    """The folder (or gs:// prefix) of `mpd.slice.*.json`; default: the generated sample."""
    configured = os.environ.get("TWOTOWER_MPD_DIR", "").strip()
    return configured or str(twotower_home() / "mpd_sample")


def require(name: str, purpose: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"environment variable {name} is not set; the gcp profile needs it for {purpose}"
        )
    return value


@dataclass(frozen=True)
class GcpSettings:
    project: str
    region: str
    dataset: str
    root: str
    bq_location: str

    @classmethod
    def from_environment(cls) -> GcpSettings:
        root = require("TWOTOWER_GCS_ROOT", "the artifact root (gs://bucket/prefix)")
        if not root.startswith("gs://"):
            raise ConfigurationError(f"TWOTOWER_GCS_ROOT must start with gs://, got {root!r}")
        return cls(
            project=require("TWOTOWER_GCP_PROJECT", "BigQuery, Dataflow and Vertex AI"),
            region=os.environ.get("TWOTOWER_GCP_REGION", "us-central1"),
            dataset=require("TWOTOWER_BQ_DATASET", "the warehouse tables"),
            root=root.rstrip("/"),
            bq_location=os.environ.get("TWOTOWER_BQ_LOCATION", "US"),
        )
