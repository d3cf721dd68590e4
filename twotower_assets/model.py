"""Assets of the 'model' group: `two_tower_model`, trained by the `trainer` resource, and checks.

The asset only resolves the artifact root and hyperparameters and hands them to the trainer
(a Pipes subprocess locally, a Vertex AI CustomJob on gcp); towers and training live in
`pipelines/towers.py` and `pipelines/trainer.py`.
"""

import hashlib
import json
import math
from pathlib import Path

import dagster as dg
import pydantic

from resources.storage import ArtifactStore
from resources.trainer import Trainer
from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES, ID_FEATURES, QUERY_FEATURES
from twotower_assets.pipelines.trainer import MODEL_FOLDER, TrainingParameters

_PIPELINES = Path(__file__).resolve().parent / "pipelines"


def _code_version() -> str:
    digest = hashlib.sha256()
    for name in ("towers.py", "trainer.py", "feature_spec.py"):
        digest.update((_PIPELINES / name).read_bytes())
    return digest.hexdigest()[:16]


# The launchpad config is generated from TrainingParameters, so each default and description
# is written once (in pipelines/, where the trainer reads it without Dagster).
TwoTowerConfig = pydantic.create_model(
    "TwoTowerConfig",
    __base__=dg.Config,
    __doc__="Hyperparameters of the two-tower model (defaults in `pipelines/trainer.py`).",
    **{
        name: (field.annotation, field)  # type: ignore[misc]
        for name, field in TrainingParameters.model_fields.items()
    },
)


@dg.asset(
    deps=["train_tfrecords", "valid_tfrecords", "candidate_tfrecords", "vocabulary"],
    code_version=_code_version(),
    kinds={"tensorflow"},
    description="SavedModels of the query and candidate towers, checkpoints, logs, history.json.",
)
def two_tower_model(
    context: dg.AssetExecutionContext,
    config: TwoTowerConfig,  # type: ignore[valid-type]  (no __future__ annotations: Dagster reads this type)
    trainer: Trainer,
    artifacts: ArtifactStore,
) -> dg.MaterializeResult:
    parameters = TrainingParameters.model_validate(config.model_dump()).model_dump()
    return trainer.train(context, artifacts.root, parameters)


def _history(artifacts: ArtifactStore) -> list[dict]:
    return json.loads(artifacts.read_text(MODEL_FOLDER, "history.json"))


@dg.asset_check(asset=two_tower_model, blocking=True)
def loss_finite_and_decreasing(artifacts: ArtifactStore) -> dg.AssetCheckResult:
    """Every epoch's loss is finite and the last epoch ends below the first."""
    history = _history(artifacts)
    losses = [entry["loss"] for entry in history]
    finite = bool(losses) and all(math.isfinite(loss) for loss in losses)
    decreasing = len(losses) < 2 or losses[-1] < losses[0]
    return dg.AssetCheckResult(
        passed=finite and decreasing,
        metadata={"losses": dg.MetadataValue.json(losses), "epochs": len(losses)},
    )


@dg.asset_check(asset=two_tower_model, blocking=True)
def query_tower_sees_no_candidate_feature(artifacts: ArtifactStore) -> dg.AssetCheckResult:
    """The saved query tower's serving inputs are query features only (no label leak)."""
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    loaded = tf.saved_model.load(artifacts.path(MODEL_FOLDER, "query_tower"))
    inputs = set(loaded.signatures["serving_default"].structured_input_signature[1])
    forbidden = {f.name for f in CANDIDATE_FEATURES + ID_FEATURES}
    leaked = sorted(inputs & forbidden)
    unknown = sorted(inputs - {f.name for f in QUERY_FEATURES})
    return dg.AssetCheckResult(
        passed=not leaked and not unknown,
        metadata={
            "query_inputs": dg.MetadataValue.json(sorted(inputs)),
            "candidate_features_seen": dg.MetadataValue.json(leaked),
            "unknown_inputs": dg.MetadataValue.json(unknown),
        },
    )
