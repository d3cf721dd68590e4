"""Assets of the 'serving' group: `candidate_embeddings` (Parquet + exact FAISS index) and checks.

The asset embeds the candidate shards once with the saved candidate tower; the logic lives in
`pipelines/embeddings.py`. Checks reconcile the rows with the warehouse `tracks` table.
"""

import hashlib
from pathlib import Path

import dagster as dg
import numpy as np

from resources.storage import ArtifactStore
from resources.warehouse import Warehouse
from twotower_assets.pipelines.embeddings import (
    EMBEDDINGS_FOLDER,
    INDEX_FILE,
    PARQUET_FILE,
    CandidateEmbeddings,
    embed_candidates,
    read_embeddings,
    write_embeddings,
)
from twotower_assets.pipelines.trainer import MODEL_FOLDER, shard_paths


def _code_version() -> str:
    source = Path(__file__).resolve().parent / "pipelines" / "embeddings.py"
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


@dg.asset(
    deps=["two_tower_model", "candidate_tfrecords"],
    code_version=_code_version(),
    kinds={"tensorflow", "parquet"},
    description="One L2-normalized vector per catalogue track plus an exact inner-product index.",
)
def candidate_embeddings(
    context: dg.AssetExecutionContext, artifacts: ArtifactStore
) -> dg.MaterializeResult:
    shards = shard_paths(artifacts.root, "candidates")
    embeddings = embed_candidates(artifacts.path(MODEL_FOLDER, "candidate_tower"), shards)
    context.log.info(
        f"embedded {len(embeddings.track_uris)} tracks in {embeddings.seconds:.1f} s "
        f"({len(embeddings.track_uris) / max(embeddings.seconds, 1e-9):.0f} tracks/s)"
    )
    with artifacts.staging(EMBEDDINGS_FOLDER) as folder:
        write_embeddings(embeddings, folder)
    return dg.MaterializeResult(
        metadata={
            "rows": len(embeddings.track_uris),
            "dimension": embeddings.dimension,
            "candidate_shards": len(shards),
            "tracks_per_second": float(len(embeddings.track_uris) / max(embeddings.seconds, 1e-9)),
            "parquet": dg.MetadataValue.path(artifacts.path(EMBEDDINGS_FOLDER, PARQUET_FILE)),
            "index": dg.MetadataValue.path(artifacts.path(EMBEDDINGS_FOLDER, INDEX_FILE)),
            "index_type": "faiss.IndexFlatIP (exact inner product)",
        }
    )


def _embeddings(artifacts: ArtifactStore) -> CandidateEmbeddings:
    return read_embeddings(artifacts.path(EMBEDDINGS_FOLDER))


@dg.asset_check(asset=candidate_embeddings, additional_deps=["tracks"], blocking=True)
def one_row_per_track(artifacts: ArtifactStore, warehouse: Warehouse) -> dg.AssetCheckResult:
    """As many embeddings as `tracks` rows, and no track URI twice."""
    embeddings = _embeddings(artifacts)
    tracks = warehouse.row_count("tracks")
    uris, counts = np.unique(embeddings.track_uris.astype(str), return_counts=True)
    duplicates = uris[counts > 1][:10].tolist()
    return dg.AssetCheckResult(
        passed=len(embeddings.track_uris) == tracks and not duplicates,
        metadata={
            "embedding_rows": len(embeddings.track_uris),
            "tracks_rows": tracks,
            "duplicate_ids": dg.MetadataValue.json(duplicates),
        },
    )


@dg.asset_check(asset=candidate_embeddings, blocking=True)
def dimension_right_and_finite(
    artifacts: ArtifactStore,
) -> dg.AssetCheckResult:
    """Every vector has the model's output dimension, finite values and unit length."""
    import json

    embeddings = _embeddings(artifacts)
    expected = json.loads(artifacts.read_text(MODEL_FOLDER, "parameters.json"))["output_dim"]
    finite = bool(np.isfinite(embeddings.vectors).all())
    norms = np.linalg.norm(embeddings.vectors, axis=1) if len(embeddings.vectors) else np.ones(1)
    return dg.AssetCheckResult(
        passed=embeddings.dimension == expected
        and finite
        and bool(np.allclose(norms, 1, atol=1e-3)),
        metadata={
            "dimension": embeddings.dimension,
            "expected_dimension": expected,
            "all_finite": finite,
            "min_norm": float(norms.min()),
            "max_norm": float(norms.max()),
        },
    )
