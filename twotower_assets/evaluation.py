"""Assets of the 'evaluation' group: `retrieval_metrics` and its gate.

The asset scores the two-tower model and the baselines on the held-out playlists and writes
the `recommendations` and `retrieval_metrics` tables; the logic is in `evaluation_logic/`.
"""

import hashlib
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
from pydantic import Field

from resources import ArtifactStore, DatasetSettings, Warehouse
from twotower_assets.evaluation_logic.evaluate import METRICS, OVERALL, evaluate
from twotower_assets.evaluation_logic.inputs import read_inputs, two_tower_retriever
from twotower_assets.evaluation_logic.report import (
    comparison_markdown,
    metrics_table,
    per_category_markdown,
    recommendations_table,
)
from twotower_assets.evaluation_logic.two_tower import SavedModelQueryTower

_LOGIC = Path(__file__).resolve().parent / "evaluation_logic"
# Editing the metric, baseline or retrieval code makes the figures stale.
CODE_VERSION = hashlib.sha256(
    b"".join(path.read_bytes() for path in sorted(_LOGIC.glob("*.py")))
).hexdigest()[:16]

UPSTREAM = [
    "candidate_embeddings",
    "two_tower_model",
    "holdout_seeds",
    "holdout_hidden",
    "holdout_playlists",
    "training_pairs",
    "tracks",
]


class EvaluationConfig(dg.Config):
    max_next_track_pairs: int = Field(
        default=50_000,
        description="Next-track recall uses an even sample of at most this many 'valid' pairs.",
    )
    cooccurrence_exponent: float = Field(
        default=0.5,
        description="Item co-occurrence normalization: co(s,t) / (pop(s)·pop(t))^exponent.",
    )
    query_batch_size: int = Field(default=4096, description="Queries per query-tower call.")


@dg.asset(
    deps=UPSTREAM,
    pool="warehouse",
    code_version=CODE_VERSION,
    kinds={"python", "faiss"},
    description="RecSys Challenge 2018 metrics and next-track recall for the two-tower model "
    "and the popularity and item co-occurrence baselines, on the same held-out playlists.",
)
def retrieval_metrics(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    warehouse: Warehouse,
    artifacts: ArtifactStore,
    dataset: DatasetSettings,
) -> dg.MaterializeResult:
    inputs = read_inputs(warehouse, dataset.history_length, config.max_next_track_pairs)
    context.log.info(
        f"{inputs.holdout.pids.size} held-out playlists, {inputs.next_track.targets.size} "
        f"next-track pairs, catalogue of {inputs.catalogue.size} tracks"
    )
    embeddings_path = artifacts.path("embeddings", "candidate_embeddings.parquet")
    with artifacts.open("embeddings", "candidate_embeddings.parquet") as handle:
        embeddings = pq.read_table(handle, columns=["track_uri", "embedding"])
    tower = SavedModelQueryTower(
        artifacts.path("model", "query_tower"), batch_size=config.query_batch_size
    )
    retriever = two_tower_retriever(tower, embeddings, inputs.catalogue, embeddings_path)
    result = evaluate(inputs, retriever, config.cooccurrence_exponent, log=context.log.info)

    recommendation_rows = 0
    for model, recommended in result.recommendations.items():
        rows = recommendations_table(
            model, inputs.holdout.pids, recommended, inputs.catalogue.track_uris
        )
        warehouse.replace_rows("recommendations", "model", model, rows)
        recommendation_rows += rows.num_rows
        model_metrics = [row for row in result.metrics if row.model == model]
        warehouse.replace_rows("retrieval_metrics", "model", model, metrics_table(model_metrics))

    metadata: dict[str, object] = {
        "comparison": dg.MetadataValue.md(comparison_markdown(result.metrics)),
        "r_precision_by_category": dg.MetadataValue.md(
            per_category_markdown(result.metrics, "r_precision")
        ),
        "holdout_playlists": inputs.holdout.pids.size,
        "next_track_pairs": int(inputs.next_track.targets.size),
        "catalogue_tracks": inputs.catalogue.size,
        "recommendation_rows": recommendation_rows,
        "dagster/row_count": len(result.metrics),
        "seconds": dg.MetadataValue.json({k: round(v, 3) for k, v in result.seconds.items()}),
    }
    # Plain floats per (model, metric): the UI plots them across materializations.
    for row in result.metrics:
        if row.category == OVERALL and row.metric in METRICS:
            metadata[f"{row.model}/{row.metric}"] = dg.MetadataValue.float(row.value)
    return dg.MaterializeResult(metadata=metadata)


def _overall(warehouse: Warehouse, model: str, metric: str) -> "float | None":
    value = warehouse.scalar(
        f"SELECT value FROM {warehouse.table_ref('retrieval_metrics')} "
        f"WHERE model = '{model}' AND metric = '{metric}' AND category = '{OVERALL}'"
    )
    return None if value is None else float(value)


GATE_METRICS = ("r_precision", "recall@100")


@dg.asset_check(
    asset=retrieval_metrics,
    blocking=True,
    description="The two-tower model beats the most-popular baseline on R-precision and on "
    "next-track recall@100.",
)
def two_tower_beats_popularity(warehouse: Warehouse) -> dg.AssetCheckResult:
    metadata: dict[str, float] = {}
    failures = []
    for metric in GATE_METRICS:
        model_value = _overall(warehouse, "two_tower", metric)
        baseline = _overall(warehouse, "popularity", metric)
        if model_value is None or baseline is None:
            failures.append(f"{metric}: missing (two_tower {model_value}, popularity {baseline})")
            continue
        metadata[f"two_tower/{metric}"] = model_value
        metadata[f"popularity/{metric}"] = baseline
        if not model_value > baseline:
            failures.append(f"{metric}: two_tower {model_value:.4f} <= popularity {baseline:.4f}")
    return dg.AssetCheckResult(
        passed=not failures,
        metadata=metadata,
        description="; ".join(failures) if failures else "two_tower beats popularity",
    )


@dg.asset_check(
    asset=retrieval_metrics,
    description="Recommendations: ranks 1..n without gaps, no track twice, no seed recommended.",
)
def recommendations_are_well_formed(warehouse: Warehouse) -> dg.AssetCheckResult:
    recommendations = warehouse.table_ref("recommendations")
    seeds = warehouse.table_ref("holdout_seeds")
    problems = warehouse.query(
        f"""
        SELECT
          (SELECT COUNT(*) FROM (
             SELECT model, pid FROM {recommendations} GROUP BY model, pid
             HAVING MIN(rank) <> 1 OR MAX(rank) <> COUNT(*)
                OR COUNT(DISTINCT track_uri) <> COUNT(*) OR COUNT(*) > 500)) AS bad_lists,
          (SELECT COUNT(*) FROM {recommendations} AS r JOIN {seeds} AS s
             ON r.pid = s.pid AND r.track_uri = s.track_uri) AS seeds_recommended
        """
    ).to_pylist()[0]
    passed = problems["bad_lists"] == 0 and problems["seeds_recommended"] == 0
    return dg.AssetCheckResult(
        passed=passed,
        metadata={key: int(value) for key, value in problems.items()},
        description=None if passed else f"malformed recommendations: {problems}",
    )
