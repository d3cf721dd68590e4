"""The one Definitions of twotower: assembles the groups; nothing else lives here."""

from __future__ import annotations

import dagster as dg

from resources import build_resources
from twotower_assets import (
    evaluation,
    features,
    ingest,
    jobs,
    model,
    serving,
    tfrecords,
    warehouse,
)

_GROUPS = {
    "ingest": ingest,
    "warehouse": warehouse,
    "tfrecords": tfrecords,
    "features": features,
    "model": model,
    "serving": serving,
    "evaluation": evaluation,
}

defs = dg.Definitions(
    assets=[
        asset
        for group, module in _GROUPS.items()
        for asset in dg.load_assets_from_modules([module], group_name=group)
    ],
    asset_checks=dg.load_asset_checks_from_modules(list(_GROUPS.values())),
    jobs=jobs.JOBS,
    resources=build_resources(),
    # One process per run: every step would otherwise pay the import of Dagster, Beam and
    # TensorFlow again (tens of seconds on 2 cores), DuckDB takes one writer at a time anyway,
    # and Beam and TensorFlow already use every core inside their own steps.
    executor=dg.in_process_executor,
)
