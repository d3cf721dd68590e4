"""Assets of the 'features' group: the vocabulary and numeric statistics the towers read.

Computed by SQL in the warehouse from the training split (pipelines/vocabulary.py), written
atomically as `vocabulary/vocabulary.json` plus one `.txt` per vocabulary.
"""

import hashlib
import inspect
import json
import math
import tempfile

import dagster as dg

from resources.dataset import DatasetSettings
from resources.storage import ArtifactStore
from resources.warehouse import Warehouse
from twotower_assets.pipelines import vocabulary as logic

CODE_VERSION = hashlib.sha256(inspect.getsource(logic).encode()).hexdigest()[:16]


def _warehouse_view(warehouse: Warehouse) -> logic.Warehouse:
    return logic.Warehouse(warehouse.dialect, warehouse.table_ref, warehouse.query)


@dg.asset(
    deps=["training_pairs", "tracks"], code_version=CODE_VERSION, kinds={"sql"}, pool="warehouse"
)
def vocabulary(
    warehouse: Warehouse, artifacts: ArtifactStore, dataset: DatasetSettings
) -> dg.MaterializeResult:
    """Vocabulary files (most frequent first) and float-feature statistics, training split only."""
    with artifacts.staging("vocabulary") as staging:
        # Files are written locally, then copied: the staging folder may be gs://.
        local = staging if not artifacts.is_remote else tempfile.mkdtemp()
        document = logic.compute_vocabulary(
            _warehouse_view(warehouse), local, dataset.history_length, dataset.valid_modulus
        )
        if artifacts.is_remote:
            artifacts.filesystem.put(local + "/", staging, recursive=True)
    return dg.MaterializeResult(
        metadata={
            "train_pairs": document["train_pairs"],
            **{f"size_{name}": v["size"] for name, v in document["vocabularies"].items()},
            "path": dg.MetadataValue.path(artifacts.path("vocabulary")),
        }
    )


def vocabulary_problems(warehouse: Warehouse, artifacts: ArtifactStore) -> list[str]:
    """Sizes against independent warehouse recounts, line counts, and finite statistics."""
    document = json.loads(artifacts.read_text("vocabulary", "vocabulary.json"))
    view = _warehouse_view(warehouse)
    problems: list[str] = []
    for name, entry in document["vocabularies"].items():
        lines = artifacts.read_text("vocabulary", entry["file"]).split("\n")[:-1]
        if len(lines) != entry["size"] or len(set(lines)) != len(lines):
            problems.append(
                f"{entry['file']}: {len(lines)} lines ({len(set(lines))} distinct), "
                f"json says {entry['size']}"
            )
        if name in logic.VALUE_VOCABULARIES:
            sql = logic._render(logic.distinct_count_sql(name, view.table_ref), view.dialect)
            expected = int(warehouse.scalar(sql))
        else:
            titles = (
                warehouse.query(
                    f"SELECT DISTINCT name FROM {warehouse.table_ref('training_pairs')} "
                    "WHERE split = 'train'"
                )
                .column(0)
                .to_pylist()
            )
            expected = len({token for title in titles for token in logic.title_tokens(title)})
        if entry["size"] != expected:
            problems.append(f"vocabulary {name}: size {entry['size']}, warehouse has {expected}")
    for feature, stats in document["statistics"].items():
        bad = [k for k, v in stats.items() if not math.isfinite(v)]
        if bad or stats["count"] == 0:
            problems.append(f"statistics of {feature}: not finite {bad} or empty ({stats})")
    return problems


@dg.asset_check(
    asset=vocabulary,
    name="sizes_match_warehouse_and_statistics_finite",
    blocking=True,
    description="Each vocabulary has as many distinct lines as the warehouse's independent "
    "distinct count; every statistic is finite.",
)
def vocabulary_check(warehouse: Warehouse, artifacts: ArtifactStore) -> dg.AssetCheckResult:
    problems = vocabulary_problems(warehouse, artifacts)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": "\n".join(problems) or "none", "count": len(problems)},
    )
