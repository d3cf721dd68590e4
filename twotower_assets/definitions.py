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
    # Two steps at once on the 2-core default; DuckDB writes are serialized by the warehouse.
    executor=dg.multiprocess_executor.configured({"max_concurrent": 2}),
)
