"""Dataset-wide settings shared by several assets (one source of truth for each).

History length and the validation modulus shape the pair table, the held-out playlists, the
vocabulary and the towers alike, so they live in one resource instead of per-asset config.
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field


class DatasetSettings(dg.ConfigurableResource):
    history_length: int = Field(
        default=5, description="Tracks of history before each candidate (the seed's last-5)."
    )
    valid_modulus: int = Field(
        default=100, description="Playlists with pid % valid_modulus == 0 are held out."
    )
    enrichment_dir: str | None = Field(
        default=None,
        description="Folder with unique_track_features.json / unique_artists_features.json "
        "(NDJSON, the seed's layout); derived popularity stands in when absent.",
    )

    @classmethod
    def from_environment(cls) -> DatasetSettings:
        return cls(
            history_length=int(os.environ.get("TWOTOWER_HISTORY_LENGTH", "5")),
            valid_modulus=int(os.environ.get("TWOTOWER_VALID_MODULUS", "100")),
            enrichment_dir=os.environ.get("TWOTOWER_ENRICHMENT_DIR") or None,
        )
