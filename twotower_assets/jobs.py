"""Named jobs over the asset graph."""

from __future__ import annotations

import dagster as dg

ingest_job = dg.define_asset_job("ingest_slices", selection=dg.AssetSelection.groups("ingest"))
downstream_job = dg.define_asset_job(
    "build_model_from_warehouse",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ingest"),
)

JOBS = [ingest_job, downstream_job]
